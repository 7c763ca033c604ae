import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyMetrics } from './metrics.js';

test('request counter and latency histogram are exposed in Prometheus text format', async () => {
  const m = new ProxyMetrics('web');
  m.request('outbound', 'api', 200, 0.0007);
  m.request('outbound', 'api', 200, 0.02);
  m.request('outbound', 'api', 503, 20);
  m.request('inbound', 'web', 200, 0.001);
  const { body, contentType } = await m.expose();
  assert.match(contentType, /text\/plain/);
  assert.match(body, /# TYPE strata_requests_total counter/);
  assert.match(body, /strata_requests_total\{direction="outbound",source="web",destination="api",code="200"\} 2\n/);
  assert.match(body, /strata_requests_total\{direction="outbound",source="web",destination="api",code="503"\} 1\n/);
  assert.match(body, /# TYPE strata_request_duration_seconds histogram/);
  // 0.0007 falls in le=0.001 (cumulative from there), 0.02 in le=0.025.
  assert.match(body, /strata_request_duration_seconds_bucket\{direction="outbound",source="web",destination="api",code="200",le="0.0005"\} 0\n/);
  assert.match(body, /strata_request_duration_seconds_bucket\{direction="outbound",source="web",destination="api",code="200",le="0.001"\} 1\n/);
  assert.match(body, /strata_request_duration_seconds_bucket\{direction="outbound",source="web",destination="api",code="200",le="0.025"\} 2\n/);
  assert.match(body, /strata_request_duration_seconds_bucket\{direction="outbound",source="web",destination="api",code="200",le="\+Inf"\} 2\n/);
  assert.match(body, /strata_request_duration_seconds_count\{direction="outbound",source="web",destination="api",code="200"\} 2\n/);
  assert.match(body, /strata_request_duration_seconds_sum\{direction="outbound",source="web",destination="api",code="200"\} 0\.0207/);
  // Over the last bound: only +Inf counts it.
  assert.match(body, /code="503",le="10"\} 0\n/);
  assert.match(body, /code="503",le="\+Inf"\} 1\n/);
  assert.match(body, /strata_requests_total\{direction="inbound",source="web",destination="web",code="200"\} 1\n/);
});

test('other counters and label escaping', async () => {
  const m = new ProxyMetrics('a"b', { endpoints: () => [{ cluster: 'c', state: 'available', count: 2 }] });
  m.retry('c');
  m.overflowed('c', 'pending');
  m.upstreamFailure('c', 'connect-failure');
  m.localReply('STRATA_NO_ROUTE');
  m.request('outbound', 'x', 200, 0.001);
  const { body } = await m.expose();
  assert.match(body, /strata_upstream_retries_total\{cluster="c"\} 1/);
  assert.match(body, /strata_upstream_overflow_total\{cluster="c",limit="pending"\} 1/);
  assert.match(body, /strata_upstream_failures_total\{cluster="c",kind="connect-failure"\} 1/);
  assert.match(body, /strata_local_replies_total\{code="STRATA_NO_ROUTE"\} 1/);
  assert.match(body, /strata_upstream_endpoints\{cluster="c",state="available"\} 2/);
  assert.match(body, /source="a\\"b"/);
});

test('priority metrics: none without priority; per-class latency and queue-time histograms, classification sources', async () => {
  const m = new ProxyMetrics('web');
  m.request('inbound', 'web', 200, 0.001);
  assert.doesNotMatch((await m.expose()).body, /strata_priority_/);
  m.priorityRequest('inbound', 'bulk', 0.003);
  m.priorityRequest('inbound', 'bulk', 0.2);
  m.priorityRequest('outbound', 'latency-sensitive', 0.0004);
  m.priorityAdmitted('inbound', 'bulk', 0);
  m.priorityAdmitted('inbound', 'bulk', 0.03);
  m.priorityClassified('outbound', 'bulk', 'inferred');
  m.priorityClassified('outbound', 'bulk', 'inferred');
  m.priorityClassified('inbound', 'bulk', 'explicit');
  const { body } = await m.expose();
  assert.match(body, /# TYPE strata_priority_request_duration_seconds histogram/);
  assert.match(body, /strata_priority_request_duration_seconds_bucket\{direction="inbound",class="bulk",le="0.005"\} 1\n/);
  assert.match(body, /strata_priority_request_duration_seconds_count\{direction="inbound",class="bulk"\} 2\n/);
  assert.match(body, /strata_priority_request_duration_seconds_count\{direction="outbound",class="latency-sensitive"\} 1\n/);
  assert.match(body, /# TYPE strata_priority_queue_duration_seconds histogram/);
  assert.match(body, /strata_priority_queue_duration_seconds_bucket\{scope="inbound",class="bulk",le="0"\} 1\n/);
  assert.match(body, /strata_priority_queue_duration_seconds_bucket\{scope="inbound",class="bulk",le="0.05"\} 2\n/);
  assert.match(body, /strata_priority_queue_seconds_total\{scope="inbound",class="bulk"\} 0.03\n/);
  assert.match(body, /strata_priority_classified_total\{direction="outbound",class="bulk",source="inferred"\} 2\n/);
  assert.match(body, /strata_priority_classified_total\{direction="inbound",class="bulk",source="explicit"\} 1\n/);
  assert.doesNotMatch(body, /strata_priority_requests_total|strata_priority_queue_total/, 'histograms only');
});
