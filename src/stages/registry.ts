/**
 * Which code runs a stage, by the kind the topology declares for it (src/topology.ts). Adding a
 * stage means declaring it there and, for a new kind, one line here: no switch over roles.
 */
import type { RunningStage } from '../kafka/kafkajs-stage.js';
import type { StageKind, StageSpec } from '../topology.js';
import type { Resources } from '../resources.js';
import { startBackupStage } from './backup-stage.js';
import type { StageDeps } from './context.js';
import { startEnrichStage } from './enrich-stage.js';
import { startHistoryStage } from './history-stage.js';
import { startReleaseStage } from './release-stage.js';
import { startRouteStage } from './route-stage.js';
import { startSinkStage } from './sink-stage.js';

type Starter = (deps: StageDeps, spec: StageSpec, resources: Resources) => Promise<RunningStage>;

export const STAGE_STARTERS: Record<Exclude<StageKind, 'ingest'>, Starter> = {
  enrich: (deps, spec) => startEnrichStage(deps, spec),
  route: async (deps, spec, r) => startRouteStage(deps, spec, await r.optOuts()),
  'enrich-route': async (deps, spec, r) => startEnrichStage(deps, spec, { optOuts: await r.optOuts() }),
  deliver: async (deps, spec, r) => startSinkStage(deps, spec, await r.sinkFor(spec)),
  release: (deps, spec) => startReleaseStage(deps, spec),
  backup: (deps, spec) => startBackupStage(deps, spec),
  history: async (deps, spec, r) => startHistoryStage(deps, spec, await r.historyStore(), r.eventsCodec),
};
