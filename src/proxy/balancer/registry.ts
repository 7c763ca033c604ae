/**
 * @module proxy/balancer/registry
 * Balancers by name. Each policy module calls registerBalancer() from its setup();
 * index.ts imports them all.
 */
import type { BalancerFactory } from './balancer.js';

const factories = new Map<string, BalancerFactory>();

export function registerBalancer(factory: BalancerFactory): void {
  factories.set(factory.name, factory);
}

export function getBalancer(name: string): BalancerFactory | undefined {
  return factories.get(name);
}

export function balancerNames(): string[] {
  return [...factories.keys()].sort();
}
