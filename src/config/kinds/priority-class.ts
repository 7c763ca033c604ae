/**
 * @module config/kinds/priority-class
 * `PriorityClass`: one request priority class — its rank (higher is served first), what it
 * asks of the sockets that carry it (DSCP, SO_PRIORITY, TCP congestion control), its minimum
 * share of a saturated concurrency limit (starvation guard), its maximum share (a ceiling that
 * keeps room for higher classes) and its shed order. Three classes
 * exist without being declared (`latency-sensitive`, `default`, `bulk`); declaring one with
 * the same name replaces it. Checks across classes (unique ranks, shares adding up to at most
 * 1) are made by the compile pass (config/compile-priority.ts).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { Closed, StringEnum } from './common.js';
import type { KindDefinition } from './common.js';

/** TCP congestion control algorithms a class may ask for (Linux names). */
export const CONGESTION_CONTROLS = ['bbr', 'cubic', 'reno', 'vegas', 'westwood', 'htcp', 'dctcp', 'bic', 'highspeed', 'illinois', 'lp', 'nv', 'scalable', 'veno', 'yeah', 'cdg', 'hybla'] as const;

export const PriorityClassSpecSchema = Type.Object(
  {
    rank: Type.Integer({ minimum: 0, maximum: 1000, description: 'Higher ranks are admitted first; unique among classes.' }),
    dscp: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'DSCP code point for upstream sockets of this class (IP_TOS = dscp << 2).' })),
    soPriority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4_294_967_295,
        description: 'SO_PRIORITY for upstream sockets of this class: 0-6 for any process; an htb classid such as 0x10010 (1:10) needs CAP_NET_ADMIN.',
      }),
    ),
    congestion: Type.Optional(
      StringEnum(CONGESTION_CONTROLS, { description: 'TCP congestion control for upstream sockets of this class (must be available in the kernel).' }),
    ),
    minShare: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Share of admissions guaranteed while saturated (starvation guard); all classes add up to at most 1.' }),
    ),
    maxShare: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        default: 1,
        description:
          'Most of a concurrency limit this class may hold at once (its ceiling, like htb ceil; at least one request): the rest stays free for higher classes, so they never wait for this class\'s requests to end.',
      }),
    ),
    shedOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Lowest sheds first when queues are full (default: the rank).' })),
  },
  { ...Closed, description: 'A request priority class.' },
);

export type PriorityClassSpecInput = Static<typeof PriorityClassSpecSchema>;

function validatePriorityClass(spec: PriorityClassSpecInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.minShare !== undefined && !Number.isFinite(spec.minShare)) errors.push({ path: `${path}.minShare`, message: 'must be a number between 0 and 1' });
  if (spec.maxShare !== undefined && !Number.isFinite(spec.maxShare)) errors.push({ path: `${path}.maxShare`, message: 'must be a number above 0, at most 1' });
  else if (spec.maxShare !== undefined && spec.minShare !== undefined && spec.maxShare < spec.minShare)
    errors.push({ path: `${path}.maxShare`, message: `must be at least minShare (${spec.minShare})` });
  return errors;
}

export const priorityClassKind: KindDefinition<typeof PriorityClassSpecSchema> = {
  kind: 'PriorityClass',
  schema: PriorityClassSpecSchema,
  description: 'A request priority class: rank, socket options, minimum share and shed order.',
  validate: validatePriorityClass,
};
