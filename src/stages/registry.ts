/**
 * Which code runs a stage, by the kind the topology declares for it (src/topology.ts). Adding a
 * stage means declaring it there and, for a new kind, one line here: no switch over roles.
 *
 * Each kind's code is imported when a stage of that kind starts: a process loads only its own
 * stages' libraries. Loaded by every role, enrich's (time zones, polygons, e-mail domains) and
 * route's cost an SMS or deliver process about 0.4 s of CPU at start, which on a saturated machine
 * is seconds its partitions wait after a restart.
 */
import type { RunningStage } from '../kafka/running-stage.js';
import type { StageKind, StageSpec } from '../topology.js';
import type { Resources } from '../resources.js';
import type { StageDeps } from './context.js';

type Starter = (deps: StageDeps, spec: StageSpec, resources: Resources) => Promise<RunningStage>;

export const STAGE_STARTERS: Record<Exclude<StageKind, 'ingest'>, Starter> = {
  enrich: async (deps, spec) => (await import('./enrich-stage.js')).startEnrichStage(deps, spec),
  route: async (deps, spec, r) => (await import('./route-stage.js')).startRouteStage(deps, spec, await r.optOuts()),
  'enrich-route': async (deps, spec, r) => (await import('./enrich-stage.js')).startEnrichStage(deps, spec, { optOuts: await r.optOuts() }),
  deliver: async (deps, spec, r) => (await import('./sink-stage.js')).startSinkStage(deps, spec, await r.sinkFor(spec)),
  release: async (deps, spec) => (await import('./release-stage.js')).startReleaseStage(deps, spec),
  backup: async (deps, spec) => (await import('./backup-stage.js')).startBackupStage(deps, spec),
  history: async (deps, spec, r) => (await import('./history-stage.js')).startHistoryStage(deps, spec, await r.historyStore(), r.eventsCodec),
};

/**
 * What a stage of each kind opens before it joins its group (the starters above ask for the same
 * and get the same promise): opened while the process still waits to join, for instance while
 * its dead predecessor is removed. One after the other, a restarted SMS process waited 9.5 s for
 * that removal and then 6.5 s more reading the opt-out list (chaos at 3b828c8).
 */
export const STAGE_RESOURCES: Partial<Record<StageKind, (spec: StageSpec, resources: Resources) => Promise<unknown>>> = {
  route: (_spec, r) => r.optOuts(),
  'enrich-route': (_spec, r) => r.optOuts(),
  deliver: (spec, r) => r.sinkFor(spec),
  history: (_spec, r) => r.historyStore(),
};
