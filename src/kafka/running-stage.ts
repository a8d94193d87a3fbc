/** A stage once started, as the role that runs it and its health endpoints see it. */
export interface StageHealth {
  stage: string;
  group: string;
  ready: boolean;
  problems: string[];
  paused: boolean;
  pending: number;
}

export interface RunningStage {
  name: string;
  stop(): Promise<void>;
  health(): StageHealth;
}
