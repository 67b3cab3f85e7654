/**
 * Everything one tab runs besides the network node: the requester (its
 * jobs and log), the volunteer (pull, compute, receipts), the public credit
 * ledger fed by every receipt seen (and caught up on when some were
 * missed), the job store and the compute worker.
 * Every tab is both roles (DESIGN.md "Roles"); the volunteer only computes
 * after the user consents, through the power gate.
 */
import { logger } from '@libp2p/logger'
import { Ledger } from '../core/ledger.ts'
import { Lru } from '../core/lru.ts'
import { toHex } from '../core/bytes.ts'
import { bundledCatalog } from '../compute/bundled-catalog.ts'
import { ComputeClient } from '../compute/client.ts'
import { JobStore } from '../store/job-store.ts'
import type { Peer } from './peer.ts'
import { Requester } from './requester.ts'
import { OcrPipeline, type OcrPipelineInit } from './ocr-pipeline.ts'
import { isOcrJobMeta } from './ocr-job.ts'
import { modelFreedBy, storedModels, type StoredModel } from './stored-models.ts'
import { Volunteer, type ComputeGate } from './volunteer.ts'
import { loadVolunteerSettings } from './volunteer-settings.ts'
import { LogCatchUp, OWN_FROM_KEPT, ownFromStored } from './log-catch-up.ts'

/** The kv entry keeping how far catching up on the receipts crediting this peer got, per requester. */
const OWN_FROM_KEY = 'catch-up:own'

export interface Runtime {
  requester: Requester
  volunteer: Volunteer
  /** Runs stage 2 of this tab's OCR jobs and shows both stages as one job. */
  ocr: OcrPipeline
  ledger: Ledger
  store: JobStore
  client: ComputeClient
  /**
   * Deletes a job that is over (an OCR job with both its stages), and its
   * model outside the catalog once no job still stored runs it.
   * @returns false if there is no such job or it still runs.
   */
  removeJob: (jobId: string) => Promise<boolean>
  /** The models in this browser's cache, named, with the jobs that keep them (stored-models.ts). */
  storedModels: () => Promise<StoredModel[]>
  stop: () => Promise<void>
}

export interface RuntimeInit {
  peer: Peer
  gate: ComputeGate
  /** WASM threads of the compute worker (fixed for its life). */
  threads: number
  /** The title of an OCR recognition job, in the user's words (OcrPipelineInit.readingTitle). */
  readingTitle: OcrPipelineInit['readingTitle']
}

export async function startRuntime (init: RuntimeInit): Promise<Runtime> {
  const { peer } = init
  const store = new JobStore()
  const ledger = new Ledger()
  const client = new ComputeClient({ threads: init.threads })
  // Heartbeats advertise the threads shards really run with (the CPU budget), not the core count.
  peer.capabilities.threads = init.threads
  const { pubsub, work, log: logService, presence, penalties } = peer.node.services
  const requester = new Requester({
    identity: peer.identity, peerId: peer.node.peerId, pubsub, work, logService, presence, store, ledger, penalties, log: logger('essaim:swarm:requester')
  })
  const volunteer = new Volunteer({
    peer, store, ledger, catalog: bundledCatalog(), client, gate: init.gate, log: logger('essaim:swarm:volunteer'),
    runForeignModels: loadVolunteerSettings().runForeignModels
  })
  const ownFrom = new Lru<string, number>(OWN_FROM_KEPT)
  for (const [requester, from] of ownFromStored(await store.getKv<unknown>(OWN_FROM_KEY).catch(() => undefined))) ownFrom.set(requester, from)
  const catchUpLog = logger('essaim:swarm:catch-up')
  const catchUp = new LogCatchUp({
    ledger,
    ownFrom,
    onOwnFrom: (requester, from) => {
      ownFrom.set(requester, from)
      store.setKv(OWN_FROM_KEY, Object.fromEntries(ownFrom.list())).catch(err => { catchUpLog('keeping catch-up progress failed: %s', (err as Error).message) })
    },
    fetchReceipts: async (from, indices, options) => await logService.fetchReceipts(from, indices, options),
    fetchCredited: async (from, leaf, options) => await logService.fetchCredited(from, peer.identity.publicKey, leaf, options),
    take: async bytes => { await volunteer.takeReceipt(bytes) },
    self: toHex(peer.identity.publicKey),
    log: catchUpLog
  })
  volunteer.addEventListener('log:head', evt => { catchUp.seen(evt.detail.requester, evt.detail.size) })
  await requester.start()
  await volunteer.start()
  const catalog = bundledCatalog()
  const ocr = new OcrPipeline({ requester, catalog, client, loadModel: peer.loadModel, log: logger('essaim:swarm:ocr'), readingTitle: init.readingTitle })
  ocr.start()
  const log = logger('essaim:swarm:runtime')
  const removeJob = async (jobId: string): Promise<boolean> => {
    const job = requester.view(jobId)
    if (job === undefined) return false
    if (!(isOcrJobMeta(job.meta) ? await ocr.remove(jobId) : await requester.remove(jobId))) return false
    const freed = modelFreedBy(job.modelSha256, catalog, requester.list())
    // The job is gone either way; a model left behind is listed on the Models page, to delete there.
    if (freed !== undefined) await peer.dropModel(freed).catch(err => { log.error('could not delete the model of job %s: %s', jobId, (err as Error).message) })
    return true
  }
  const listStored = async (): Promise<StoredModel[]> =>
    storedModels(await peer.modelCache.entries(), catalog, { jobs: requester.list(), fetched: volunteer.foreignModels })
  return {
    requester,
    volunteer,
    ocr,
    ledger,
    store,
    client,
    removeJob,
    storedModels: listStored,
    stop: async () => {
      ocr.stop()
      catchUp.stop()
      await volunteer.stop()
      requester.stop()
      client.terminate()
    }
  }
}
