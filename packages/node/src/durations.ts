import type { NodeConfig } from '@meshcast/config'

/** The config's times in ms, as the parts take them. */
export interface Durations {
  /** cluster.xml retryDuration: retries of seeds, pulls and origin probes */
  retryMs: number
  /** mesh.heal_window: how long a lost member's last address is dialled */
  healMs: number
  /** edge.linger: a pull outlives its last player */
  lingerMs: number
  /** edge.wait: a player waits for a stream nobody publishes yet */
  waitMs: number
  /** edge.stall: no media this long and a pulled upstream is stalled */
  stallMs: number
  /** rtmp.setup_timeout: from TCP accept to publish or play */
  setupMs: number
  /** shutdown.drain: how long a stop waits for edges and players to move */
  drainMs: number
}

/** Config keeps seconds, as Red5 writes them; every part gets ms from here, converted once. */
export function durations(config: NodeConfig): Durations {
  const ms = (seconds: number) => Math.round(seconds * 1000)
  return {
    retryMs: ms(config.cluster.retryDuration),
    healMs: ms(config.discovery.healSeconds),
    lingerMs: ms(config.edge.lingerSeconds),
    waitMs: ms(config.edge.waitSeconds),
    stallMs: ms(config.edge.stallSeconds),
    setupMs: ms(config.rtmpLimits.setupSeconds),
    drainMs: ms(config.shutdown.drainSeconds),
  }
}
