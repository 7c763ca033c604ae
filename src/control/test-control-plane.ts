/**
 * @module control/test-control-plane
 * Test support: a ControlPlane on a temporary SQLite store with both servers on free ports, a
 * REST client and a raw ADS test client; close() stops it all and removes the directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from './api/client.js';
import { ControlPlane } from './control-plane.js';
import { SqliteStore } from './store/sqlite-store.js';
import { AdsTestClient } from './xds/test-client.js';
import type { SotwTestStream } from './xds/test-client.js';

export interface TestControlPlane {
  cp: ControlPlane;
  api: ApiClient;
  ads: AdsTestClient;
  /** A new SotW stream, closed by close(). */
  sotw(): SotwTestStream;
  close(): Promise<void>;
}

export async function startTestControlPlane(name: string): Promise<TestControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), `strata-${name}-`));
  const store = new SqliteStore({ dir });
  const cp = new ControlPlane({ store, apiPort: 0, xdsPort: 0, debounceMs: 10 });
  let ports: { api: number; xds: number };
  try {
    ports = await cp.start();
  } catch (err) {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const ads = new AdsTestClient(ports.xds);
  const streams: SotwTestStream[] = [];
  return {
    cp,
    api: new ApiClient(`http://127.0.0.1:${ports.api}`),
    ads,
    sotw: () => {
      const s = ads.sotw();
      streams.push(s);
      return s;
    },
    close: async () => {
      for (const s of streams) s.close();
      ads.close();
      await cp.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
