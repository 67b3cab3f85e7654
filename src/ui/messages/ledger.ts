/** Strings of the Ledger page, in English and French. */
import type { Translation } from './translation.ts'

export const en = {
  'ledger.title': 'Credit ledger',
  'ledger.help': 'Derived here from signed verdicts and tree heads: anyone holding the same receipts gets the same table, and',
  'ledger.help-link': 'can check them offline',
  'ledger.empty': 'No verified contributions seen yet.',
  'ledger.caption': 'Credit of each volunteer',
  'ledger.volunteer': 'Volunteer',
  'ledger.credit': 'Credit',
  'ledger.verdicts': 'Verdicts',
  'ledger.rejected': 'Rejected',
  'ledger.flagged': 'Flagged',
  'ledger.you': 'you',
  'ledger.first': 'The first {shown} of {total} volunteers (most credit first).',
  'ledger.totals': '{verdicts} verdicts from {requesters}, {heads} tree heads.',
  'ledger.dropped': 'This browser\'s ledger is full: {n} receipts or tree heads it was sent are not in it (receipts that credit you are kept all the same).',
  'ledger.requesters.one': '{n} requester',
  'ledger.requesters.other': '{n} requesters',
  'ledger.forks': 'Fork evidence',
  'ledger.forks-help': 'These requesters signed two histories that cannot both be true; their claims after the fork are flagged, not counted.'
} as const

export const fr: Translation<typeof en> = {
  'ledger.title': 'Registre des crédits',
  'ledger.help': 'Calculé ici à partir des verdicts et des têtes d\'arbre signés : quiconque détient les mêmes reçus obtient le même tableau, et',
  'ledger.help-link': 'peut les vérifier hors ligne',
  'ledger.empty': 'Aucune contribution vérifiée pour l\'instant.',
  'ledger.caption': 'Crédit de chaque bénévole',
  'ledger.volunteer': 'Bénévole',
  'ledger.credit': 'Crédit',
  'ledger.verdicts': 'Verdicts',
  'ledger.rejected': 'Rejetés',
  'ledger.flagged': 'Signalés',
  'ledger.you': 'vous',
  'ledger.first': 'Les {shown} premiers bénévoles sur {total} (les plus crédités d\'abord).',
  'ledger.totals': '{verdicts} verdicts de {requesters}, {heads} têtes d\'arbre.',
  'ledger.dropped': 'Le registre de ce navigateur est plein : {n} reçus ou têtes d\'arbre reçus n\'y sont pas (les reçus qui vous créditent sont gardés quand même).',
  'ledger.requesters.one': '{n} demandeur',
  'ledger.requesters.other': '{n} demandeurs',
  'ledger.forks': 'Preuve de fourche',
  'ledger.forks-help': 'Ces demandeurs ont signé deux historiques qui ne peuvent pas être vrais tous les deux ; leurs déclarations après la fourche sont signalées, pas comptées.'
}
