import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterNames, getFilter, registerBuiltinFilters } from './index.js';

test('importing the index registers every built-in filter', () => {
  for (const name of ['fault', 'header-mutation', 'local-rate-limit']) {
    assert.equal(getFilter(name)?.name, name);
  }
  assert.deepEqual(
    filterNames().filter((n) => ['fault', 'header-mutation', 'local-rate-limit'].includes(n)),
    ['fault', 'header-mutation', 'local-rate-limit'],
  );
});

test('registerBuiltinFilters is idempotent', () => {
  const before = filterNames();
  const factory = getFilter('fault');
  registerBuiltinFilters();
  registerBuiltinFilters();
  assert.deepEqual(filterNames(), before);
  assert.equal(getFilter('fault'), factory);
});
