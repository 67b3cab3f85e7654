/**
 * Strings of the Volunteer page's dashboard ("My contributions") and the
 * volunteer's status line, in English and French.
 */
import type { Translation } from './translation.ts'

export const en = {
  'dash.title': 'My contributions',
  'peers.score': '{peer} (gossip score {score})',
  'dash.shards.one': 'shard computed this session',
  'dash.shards.other': 'shards computed this session',
  'dash.credit': 'credit earned (signed receipts)',
  'dash.export': 'Export receipts',
  'dash.chart': 'Throughput, last 10 minutes',
  'dash.chart-alt': 'Shards per minute over the last 10 minutes: {now} in the last minute, at most {peak}; {total} shards this session.',
  'dash.rate': 'shards / min',
  'dash.ten-min-ago': '10 min ago',
  'dash.now': 'now',
  'dash.job': 'Current work',
  'dash.last-job': 'Last work',
  'dash.job-none': 'No job worked on yet.',
  'dash.model': 'Model',
  'dash.job-id': 'Job',
  'dash.peers': 'The swarm around you',
  'dash.direct': 'direct',
  'dash.relayed': 'through a relay',
  'dash.gossip': 'heard through gossip',
  'dash.unavailable': 'Jobs and computing are unavailable: {error}',
  'dash.last-problem': 'Last problem: {error}',
  'status.stopped': 'Not computing.',
  'status.waiting': 'Waiting: {detail}.',
  'status.loading': 'Loading {model}: {detail}…',
  'status.computing': 'Computing shards of {model}.'
} as const

export const fr: Translation<typeof en> = {
  'dash.title': 'Mes contributions',
  'peers.score': '{peer} (score de diffusion {score})',
  'dash.shards.one': 'morceau calculé depuis l\'ouverture',
  'dash.shards.other': 'morceaux calculés depuis l\'ouverture',
  'dash.credit': 'crédit gagné (reçus signés)',
  'dash.export': 'Exporter les reçus',
  'dash.chart': 'Débit, 10 dernières minutes',
  'dash.chart-alt': 'Morceaux par minute sur les 10 dernières minutes : {now} pendant la dernière minute, au plus {peak} ; {total} morceaux depuis l\'ouverture.',
  'dash.rate': 'morceaux / min',
  'dash.ten-min-ago': 'il y a 10 min',
  'dash.now': 'maintenant',
  'dash.job': 'Travail en cours',
  'dash.last-job': 'Dernier travail',
  'dash.job-none': 'Aucune tâche traitée pour l\'instant.',
  'dash.model': 'Modèle',
  'dash.job-id': 'Tâche',
  'dash.peers': 'L\'essaim autour de vous',
  'dash.direct': 'en direct',
  'dash.relayed': 'par un relais',
  'dash.gossip': 'entendus par diffusion',
  'dash.unavailable': 'Tâches et calcul indisponibles : {error}',
  'dash.last-problem': 'Dernier problème : {error}',
  'status.stopped': 'Aucun calcul.',
  'status.waiting': 'En attente : {detail}.',
  'status.loading': 'Chargement de {model} : {detail}…',
  'status.computing': 'Calcul de morceaux de {model}.'
}
