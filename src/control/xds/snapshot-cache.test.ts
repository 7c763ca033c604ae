import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotCache } from './snapshot-cache.js';
import type { ResourceSet } from './snapshot-cache.js';
import { CDS, EDS, LDS, clusterSpec, meshResources } from './test-resources.js';

describe('SnapshotCache', () => {
  it('bumps the version only of types whose content changed, and notifies watchers', () => {
    const cache = new SnapshotCache();
    const seen: string[][] = [];
    const w = cache.watch({ id: 'n1' }, (types) => seen.push([...types]));
    assert.equal(w.key, 'n1');
    assert.deepEqual(cache.set('n1', meshResources({ clusters: [clusterSpec('a', [1])] })).sort(), [CDS, EDS, LDS, 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration'].sort());
    assert.equal(cache.get('n1', CDS).version, '1');
    // Same clusters, new endpoints: only EDS changes.
    assert.deepEqual(cache.set('n1', meshResources({ clusters: [clusterSpec('a', [2])] })), [EDS]);
    assert.equal(cache.get('n1', CDS).version, '1');
    assert.equal(cache.get('n1', EDS).version, '2');
    assert.deepEqual(cache.set('n1', meshResources({ clusters: [clusterSpec('a', [2])] })), []);
    assert.equal(seen.length, 2);
    w.cancel();
    cache.set('n1', meshResources({ clusters: [] }));
    assert.equal(seen.length, 2, 'no notification after cancel');
    assert.equal(cache.get('n1', CDS).resources.size, 0);
    assert.equal(cache.get('unknown', CDS).version, '');
  });

  it('tells watchers which names changed per type (added, changed, removed)', () => {
    const cache = new SnapshotCache();
    const seen: [string[], Record<string, string[]>][] = [];
    cache.watch({ id: 'n' }, (types, names) => seen.push([[...types], Object.fromEntries([...names].map(([t, n]) => [t, [...n].sort()]))]));
    cache.set('n', meshResources({ clusters: [clusterSpec('a', [1]), clusterSpec('b', [1])] }));
    assert.deepEqual(seen.pop()?.[1][EDS], ['a', 'b']);
    // Same content in new objects: no change at all.
    cache.set('n', meshResources({ clusters: [clusterSpec('a', [1]), clusterSpec('b', [1])] }));
    assert.equal(seen.length, 0);
    cache.set('n', meshResources({ clusters: [clusterSpec('a', [1]), clusterSpec('b', [2])] }));
    assert.deepEqual(seen.pop(), [[EDS], { [EDS]: ['b'] }]);
    cache.set('n', meshResources({ clusters: [clusterSpec('b', [2]), clusterSpec('c', [3])] }));
    assert.deepEqual(seen.pop(), [[CDS, EDS], { [CDS]: ['a', 'c'], [EDS]: ['a', 'c'] }]);
    assert.deepEqual([...cache.get('n', EDS).resources.keys()].sort(), ['b', 'c']);
  });

  it('groups nodes and resolves a group on first watch', () => {
    const resolved: string[] = [];
    const cache = new SnapshotCache({
      groupOf: (node) => node.cluster ?? node.id,
      resolver: (node): ResourceSet => {
        resolved.push(node.id);
        return meshResources({ clusters: [clusterSpec(`for-${node.cluster}`, [1])] });
      },
    });
    const a = cache.watch({ id: 'a', cluster: 'web' }, () => {});
    const b = cache.watch({ id: 'b', cluster: 'web' }, () => {});
    assert.equal(a.key, 'web');
    assert.equal(b.key, 'web');
    assert.deepEqual(resolved, ['a'], 'resolved once per group');
    assert.deepEqual([...cache.get('web', CDS).resources.keys()], ['for-web']);
  });

  it('rejects a resource filed under the wrong type', () => {
    const cache = new SnapshotCache();
    const mesh = meshResources({ clusters: [clusterSpec('a', [1])] });
    assert.throws(() => cache.set('n', new Map([[LDS, mesh.get(CDS)!]])), /filed under/);
  });
});
