export { LAN, type LinkFaults, MemoryNetwork, MemoryTransport } from './memory-network.ts'
export { Random } from './random.ts'
export {
  AGREE_WITHIN_MS,
  ALL_FAULTS,
  CRASH_FAULTS,
  explain,
  type FaultKind,
  runSchedule,
  type ScheduleOptions,
  type ScheduleResult,
} from './schedule.ts'
export { Scheduler, SIM_EPOCH } from './scheduler.ts'
export { assertSeeds, runSeeds, type SeedsSummary, seedRange } from './seeds.ts'
export { type NodeSpec, type SimNode, Simulation, type SimulationInit } from './simulation.ts'
