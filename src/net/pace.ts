/**
 * The pace of messages every peer repeats and every peer receives and checks
 * (presence heartbeats, discovery's address broadcasts): at a fixed interval
 * each peer's share would grow with the swarm, so a peer spaces its own by
 * how many peers it counts.
 */
import { SWARM_MAX_INTERVAL_MS, SWARM_REPEATS_PER_S } from './constants.ts'

/**
 * Milliseconds between two such messages of a peer that counts `others`
 * peers: `base` in a small swarm; in a larger one, spaced so that the whole
 * swarm sends about SWARM_REPEATS_PER_S a second, up to SWARM_MAX_INTERVAL_MS
 * (never more often than `base`).
 */
export function swarmInterval (others: number, base: number): number {
  const spread = Math.min(SWARM_MAX_INTERVAL_MS, Math.ceil(1000 * (others + 1) / SWARM_REPEATS_PER_S))
  return Math.max(base, spread)
}
