/**
 * @module config/kinds/sidecar-amqp
 * `Sidecar.spec.amqp`: the AMQP 0-9-1 listener in front of RabbitMQ — where it listens, the
 * broker behind it, the class → message priority mapping and which queues get
 * `x-max-priority` when declared through it. Schema, the checks a schema cannot express, and
 * the compiled form.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { DEFAULT_LOCAL_ADDRESS } from '../defaults.js';
import { fieldPath } from '../field-path.js';
import type { AmqpListenerSpec } from '../snapshot.js';
import { Address, Closed, DNS_LABEL, Port, regexError } from './common.js';

/** Class → AMQP priority used for classes the configuration does not map. */
export const DEFAULT_AMQP_PRIORITIES: Readonly<Record<string, number>> = Object.freeze({ 'latency-sensitive': 9, default: 4, bulk: 0 });
export const DEFAULT_AMQP_PORT = 5672;
export const DEFAULT_MAX_PRIORITY = 10;

const Priority = Type.Integer({ minimum: 0, maximum: 255, description: 'AMQP message priority (RabbitMQ caps it at the queue’s x-max-priority).' });

export const AmqpSchema = Type.Object(
  {
    port: Port('Local AMQP listener: the app connects here instead of to RabbitMQ.'),
    address: Type.Optional(Address(`Listen address (default ${DEFAULT_LOCAL_ADDRESS}).`)),
    upstream: Type.Object(
      {
        address: Address('The RabbitMQ broker.'),
        port: Type.Optional(Port(`Its AMQP port (default ${DEFAULT_AMQP_PORT}).`)),
      },
      Closed,
    ),
    priorities: Type.Optional(
      Type.Record(Type.String({ pattern: DNS_LABEL }), Priority, {
        additionalProperties: false,
        description: `Priority class → AMQP priority, over the defaults ${JSON.stringify(DEFAULT_AMQP_PRIORITIES)}.`,
        errorMessage: 'must map priority class names (DNS labels) to integers 0–255',
      }),
    ),
    maxPriorityQueues: Type.Optional(
      Type.Object(
        {
          pattern: Type.String({ minLength: 1, maxLength: 1024, description: 'Regular expression on the queue name (unanchored).' }),
          maxPriority: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 255, default: DEFAULT_MAX_PRIORITY, description: 'x-max-priority given to matching queues.' }),
          ),
        },
        { ...Closed, description: 'Queues declared through the listener whose name matches get x-max-priority (unless the app sets one).' },
      ),
    ),
  },
  { ...Closed, description: 'AMQP 0-9-1 listener in front of RabbitMQ: each publish gets its priority from the class of the request that caused it.' },
);

export type AmqpInput = Static<typeof AmqpSchema>;

/** Checks the schema cannot make: the queue pattern compiles. */
export function validateAmqp(spec: AmqpInput, path: string): FieldError[] {
  const q = spec.maxPriorityQueues;
  return q ? regexError(q.pattern, fieldPath(fieldPath(path, 'maxPriorityQueues'), 'pattern')) : [];
}

/** The compiled listener (defaults filled in). */
export function compileAmqp(spec: AmqpInput): AmqpListenerSpec {
  const q = spec.maxPriorityQueues;
  return {
    port: spec.port,
    address: spec.address ?? DEFAULT_LOCAL_ADDRESS,
    upstream: { address: spec.upstream.address, port: spec.upstream.port ?? DEFAULT_AMQP_PORT },
    priorities: { ...DEFAULT_AMQP_PRIORITIES, ...spec.priorities },
    ...(q && { maxPriorityQueues: { pattern: q.pattern, maxPriority: q.maxPriority ?? DEFAULT_MAX_PRIORITY } }),
  };
}
