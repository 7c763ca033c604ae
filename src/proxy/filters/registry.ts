/**
 * @module proxy/filters/registry
 * HTTP filters by name. Each filter module calls registerFilter() from its setup();
 * index.ts imports them all.
 */
import type { FilterFactory } from './filter.js';

const factories = new Map<string, FilterFactory>();

export function registerFilter<C>(factory: FilterFactory<C>): void {
  factories.set(factory.name, factory as FilterFactory);
}

export function getFilter(name: string): FilterFactory | undefined {
  return factories.get(name);
}

export function filterNames(): string[] {
  return [...factories.keys()].sort();
}
