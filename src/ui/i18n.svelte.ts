/**
 * English and French strings. The English dictionary defines the keys; the
 * French one must have every key (the compiler checks it). The language
 * comes from a saved choice, else `navigator.language`, and is a rune, so
 * every `t(...)` in a template re-renders when the user switches.
 *
 * Parameters are `{name}` placeholders. Plurals are two keys, `x.one` and
 * `x.other`, chosen by `Intl.PluralRules` (French counts 0 as singular).
 * The pages' own strings live in src/ui/messages/, one module per page.
 */
import { pagesEn, pagesFr } from './messages/pages.ts'

const appEn = {
  'app.home': 'Essaim home',
  'app.nav': 'Main',
  'app.booting': 'starting…',
  'app.online': 'online',
  'app.offline': 'offline',
  'app.failed': 'Essaim could not start',
  'app.retry': 'Try again',
  'app.loading': 'Loading {page}…',
  'app.page-failed': 'Could not load this page: {message}',
  'nav./volunteer': 'Volunteer',
  'nav./submit': 'Submit job',
  'nav./job': 'Jobs',
  'nav./ledger': 'Ledger',
  'nav./models': 'Models',
  'nav./verify': 'Verify',
  'nav./settings': 'Settings',
  'lang.label': 'Language',
  'volunteer.problems': 'Some relay settings were ignored',
  'volunteer.you': 'This browser',
  'volunteer.booting': 'Creating or loading this browser\'s key and joining the swarm…',
  'volunteer.peer-id': 'Peer id:',
  'volunteer.key-browser': 'This browser\'s signing key cannot be exported: the browser holds it, and not even this page can read it. It never leaves this device.',
  'volunteer.key-storage': 'This browser\'s signing key is kept in its storage (this browser cannot hold keys that cannot be exported). It never leaves this device.',
  'volunteer.heartbeat': 'Heartbeat',
  'volunteer.direct.one': '{n} direct connection',
  'volunteer.direct.other': '{n} direct connections',
  'volunteer.relays': 'Relays',
  'volunteer.relays-help': 'Relays only introduce browsers to each other; work and gossip travel over direct connections.',
  'volunteer.peers': 'Peers',
  'relay.none-before': 'No relay configured: other tabs cannot find this one. Add',
  'relay.none-after': 'to the URL.',
  'relay.connected': 'connected',
  'relay.connecting': 'connecting…',
  'relay.unreachable': 'cannot reach relay',
  'relay.retrying': 'retrying in {s} s (attempt {n}): {error}',
  'peers.empty': 'No other peers yet. Open this page in another browser (or on another device with the same relay) to see it here.',
  'peers.count.one': '{n} peer',
  'peers.count.other': '{n} peers',
  'peers.peer': 'Peer',
  'peers.connection': 'Connection',
  'peers.rtt': 'RTT',
  'peers.heartbeat': 'Last heartbeat',
  'peers.compute': 'Compute',
  'peers.just-now': 'just now',
  'peers.first': 'The first {shown} of {total} peers (direct connections first).',
  'list.show-all': 'Show all {total}',
  'peers.ago': '{s} s ago',
  'link.direct-webrtc': 'direct WebRTC',
  'link.relayed': 'relayed',
  'link.other': 'other',
  'link.gossip-only': 'via gossip',
  'penalty.failed-canary': 'failed a check: ignored',
  'penalty.wrong-blob': 'sent wrong model bytes: ignored',
  'penalty.forged-log': 'sent forged log receipts: ignored',
  'penalty.outvoted': 'outvoted on a shard',
  'pause.no-consent': 'Not contributing. Nothing runs until you press Start.',
  'pause.not-charging': 'Paused: this phone is not charging. Computing resumes when it is plugged in.',
  'pause.ask-charging': 'Paused: this browser cannot tell whether the phone is charging.',
  'pause.hidden': 'Paused while this tab is hidden. Allow background work in Settings to keep going.',
  'pause.other-tab': 'This browser is contributing in another tab.',
  'pause.running': 'Contributing: this browser takes work from the swarm.',
  'power.title': 'Contribute',
  'power.start': 'Start contributing',
  'power.stop': 'Stop',
  'power.ask': 'Are you charging?',
  'power.yes-charging': 'Yes, it is plugged in',
  'power.not-charging': 'No',
  'power.change-answer': 'Not plugged in any more?',
  'power.battery': 'Battery {level} %, {state}',
  'power.charging': 'charging',
  'power.discharging': 'on battery',
  'power.battery-unknown': 'Battery state unknown',
  'power.owner': 'Other tab opened at {label}.',
  'power.threads.one': '{n} thread',
  'power.threads.other': '{n} threads',
  'power.budget': '{threads}, computing {duty} % of the time',
  'power.wake-lock': 'The screen stays on while charging and contributing.',
  'power.phone': 'Phone: computes only while charging.',
  'update.ready': 'A new version is ready',
  'update.reload': 'Reload',
  'update.storage-taken': 'A newer version of Essaim, opened in another tab, took over this browser\'s storage: this tab can save nothing more. Reload it to go on; what it saved is kept.',
  'settings.title': 'Settings',
  'settings.power': 'Power and CPU budget',
  'settings.threads': 'Threads',
  'settings.threads-help': 'How many CPU cores one inference may use (this device has {max}).',
  'settings.duty': 'Duty cycle',
  'settings.duty-help': 'Share of the time spent computing; the device rests in between shards.',
  'settings.background': 'Keep contributing when this tab is hidden',
  'settings.reset': 'Back to defaults',
  'settings.language': 'Language',
  'settings.models': 'Models',
  'settings.foreign': 'Run models that are not in the catalog',
  'settings.foreign-help': 'Jobs can bring their own .onnx model (up to {limit} MiB). Its bytes come from the requester or other peers, are checked against the job\'s sha256 and run only in the compute worker. Turn this off to run only the models this app ships.',
  'share.title': 'Bring another device',
  'share.help': 'Open this link (or scan the code) on a phone or another computer to join the same swarm through the same relays.',
  'share.no-relay': 'No relay is configured, so another device could not find this one.',
  'share.link': 'Link to this swarm',
  'share.copy': 'Copy link',
  'share.copied': 'Copied',
  'share.copy-failed': 'Copy failed: select the link and copy it by hand.',
  'share.qr': 'QR code of the link to this swarm'
} as const

const en = { ...appEn, ...pagesEn }
export type MessageKey = keyof typeof en
type Dictionary = Record<MessageKey, string>

const appFr: Record<keyof typeof appEn, string> = {
  'app.home': 'Accueil Essaim',
  'app.nav': 'Principal',
  'app.booting': 'démarrage…',
  'app.online': 'en ligne',
  'app.offline': 'hors ligne',
  'app.failed': 'Essaim n\'a pas pu démarrer',
  'app.retry': 'Réessayer',
  'app.loading': 'Chargement de {page}…',
  'app.page-failed': 'Impossible de charger cette page : {message}',
  'nav./volunteer': 'Bénévole',
  'nav./submit': 'Soumettre',
  'nav./job': 'Tâches',
  'nav./ledger': 'Registre',
  'nav./models': 'Modèles',
  'nav./verify': 'Vérifier',
  'nav./settings': 'Réglages',
  'lang.label': 'Langue',
  'volunteer.problems': 'Certains réglages de relais ont été ignorés',
  'volunteer.you': 'Ce navigateur',
  'volunteer.booting': 'Création ou chargement de la clé de ce navigateur et connexion à l\'essaim…',
  'volunteer.peer-id': 'Identifiant de pair :',
  'volunteer.key-browser': 'La clé de signature de ce navigateur n\'est pas exportable : le navigateur la détient, et même cette page ne peut pas la lire. Elle ne quitte jamais cet appareil.',
  'volunteer.key-storage': 'La clé de signature de ce navigateur est conservée dans son stockage (ce navigateur ne peut pas détenir de clé non exportable). Elle ne quitte jamais cet appareil.',
  'volunteer.heartbeat': 'Battement',
  'volunteer.direct.one': '{n} connexion directe',
  'volunteer.direct.other': '{n} connexions directes',
  'volunteer.relays': 'Relais',
  'volunteer.relays-help': 'Les relais ne font que présenter les navigateurs les uns aux autres ; le travail et les messages passent par des connexions directes.',
  'volunteer.peers': 'Pairs',
  'relay.none-before': 'Aucun relais configuré : les autres onglets ne peuvent pas trouver celui-ci. Ajoutez',
  'relay.none-after': 'à l\'adresse.',
  'relay.connected': 'connecté',
  'relay.connecting': 'connexion…',
  'relay.unreachable': 'relais injoignable',
  'relay.retrying': 'nouvel essai dans {s} s (tentative {n}) : {error}',
  'peers.empty': 'Aucun autre pair pour l\'instant. Ouvrez cette page dans un autre navigateur (ou sur un autre appareil avec le même relais) pour le voir ici.',
  'peers.count.one': '{n} pair',
  'peers.count.other': '{n} pairs',
  'peers.peer': 'Pair',
  'peers.connection': 'Connexion',
  'peers.rtt': 'Aller-retour',
  'peers.heartbeat': 'Dernier battement',
  'peers.compute': 'Calcul',
  'peers.just-now': 'à l\'instant',
  'peers.first': 'Les {shown} premiers pairs sur {total} (connexions directes d\'abord).',
  'list.show-all': 'Les afficher tous ({total})',
  'peers.ago': 'il y a {s} s',
  'link.direct-webrtc': 'WebRTC direct',
  'link.relayed': 'relayé',
  'link.other': 'autre',
  'link.gossip-only': 'par diffusion',
  'penalty.failed-canary': 'a échoué à un contrôle : ignoré',
  'penalty.wrong-blob': 'a envoyé un mauvais modèle : ignoré',
  'penalty.forged-log': 'a envoyé de faux reçus du journal : ignoré',
  'penalty.outvoted': 'mis en minorité sur un fragment',
  'pause.no-consent': 'Pas de contribution. Rien ne tourne avant que vous appuyiez sur Commencer.',
  'pause.not-charging': 'En pause : ce téléphone ne charge pas. Le calcul reprend quand il est branché.',
  'pause.ask-charging': 'En pause : ce navigateur ne sait pas si le téléphone est en charge.',
  'pause.hidden': 'En pause tant que cet onglet est caché. Autorisez le travail en arrière-plan dans les Réglages pour continuer.',
  'pause.other-tab': 'Ce navigateur contribue déjà dans un autre onglet.',
  'pause.running': 'Contribution en cours : ce navigateur prend du travail à l\'essaim.',
  'power.title': 'Contribuer',
  'power.start': 'Commencer à contribuer',
  'power.stop': 'Arrêter',
  'power.ask': 'Êtes-vous en charge ?',
  'power.yes-charging': 'Oui, il est branché',
  'power.not-charging': 'Non',
  'power.change-answer': 'Plus branché ?',
  'power.battery': 'Batterie {level} %, {state}',
  'power.charging': 'en charge',
  'power.discharging': 'sur batterie',
  'power.battery-unknown': 'État de la batterie inconnu',
  'power.owner': 'Autre onglet ouvert à {label}.',
  'power.threads.one': '{n} fil',
  'power.threads.other': '{n} fils',
  'power.budget': '{threads}, calcul {duty} % du temps',
  'power.wake-lock': 'L\'écran reste allumé pendant la charge et la contribution.',
  'power.phone': 'Téléphone : calcule seulement pendant la charge.',
  'update.ready': 'Une nouvelle version est prête',
  'update.reload': 'Recharger',
  'update.storage-taken': 'Une version plus récente d\'Essaim, ouverte dans un autre onglet, a pris le stockage de ce navigateur : cet onglet ne peut plus rien enregistrer. Rechargez-le pour continuer ; ce qu\'il a enregistré est gardé.',
  'settings.title': 'Réglages',
  'settings.power': 'Énergie et budget processeur',
  'settings.threads': 'Fils d\'exécution',
  'settings.threads-help': 'Nombre de cœurs qu\'une inférence peut utiliser (cet appareil en a {max}).',
  'settings.duty': 'Taux d\'activité',
  'settings.duty-help': 'Part du temps passée à calculer ; l\'appareil se repose entre deux morceaux.',
  'settings.background': 'Continuer quand cet onglet est caché',
  'settings.reset': 'Valeurs par défaut',
  'settings.language': 'Langue',
  'settings.models': 'Modèles',
  'settings.foreign': 'Exécuter des modèles absents du catalogue',
  'settings.foreign-help': 'Une tâche peut apporter son propre modèle .onnx (jusqu\'à {limit} Mio). Ses octets viennent du demandeur ou d\'autres pairs, sont vérifiés avec le sha256 de la tâche et ne tournent que dans le worker de calcul. Désactivez pour n\'exécuter que les modèles fournis avec l\'application.',
  'share.title': 'Ajouter un appareil',
  'share.help': 'Ouvrez ce lien (ou scannez le code) sur un téléphone ou un autre ordinateur pour rejoindre le même essaim par les mêmes relais.',
  'share.no-relay': 'Aucun relais configuré : un autre appareil ne pourrait pas trouver celui-ci.',
  'share.link': 'Lien vers cet essaim',
  'share.copy': 'Copier le lien',
  'share.copied': 'Copié',
  'share.copy-failed': 'La copie a échoué : sélectionnez le lien et copiez-le à la main.',
  'share.qr': 'Code QR du lien vers cet essaim'
}

const fr: Dictionary = { ...appFr, ...pagesFr }

export type Lang = 'en' | 'fr'
export const LANGS: ReadonlyArray<{ id: Lang, name: string }> = [{ id: 'en', name: 'English' }, { id: 'fr', name: 'Français' }]
const dictionaries: Record<Lang, Dictionary> = { en, fr }
const STORAGE_KEY = 'essaim:lang'

type Params = Record<string, string | number>

/** The saved choice, else the first of the browser's languages we have, else English. */
function initialLang (): Lang {
  if (typeof window === 'undefined') return 'en'
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY)
    if (saved === 'en' || saved === 'fr') return saved
  } catch {}
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0]
    if (base === 'en' || base === 'fr') return base
  }
  return 'en'
}

class I18n {
  lang = $state<Lang>(initialLang())

  constructor () {
    if (typeof document !== 'undefined') document.documentElement.lang = this.lang
  }

  setLang (lang: Lang): void {
    this.lang = lang
    document.documentElement.lang = lang
    try { window.localStorage.setItem(STORAGE_KEY, lang) } catch {}
  }

  t (key: MessageKey, params?: Params): string {
    return fill(dictionaries[this.lang][key], params)
  }

  /** `base.one` or `base.other` by the count `n` (also passed as `{n}`). */
  plural (base: string, n: number, params?: Params): string {
    const form = formats(this.lang).plural.select(n) === 'one' ? 'one' : 'other'
    const key = `${base}.${form}`
    return key in en ? this.t(key as MessageKey, { n, ...params }) : key
  }

  /** A moment (ms since the epoch) as a short date and time in the current language. */
  dateTime (ms: number): string {
    return formats(this.lang).dateTime.format(ms)
  }

  /** For keys built at run time (e.g. a route path): the fallback when there is none. */
  tOr (key: string, fallback: string, params?: Params): string {
    return key in en ? this.t(key as MessageKey, params) : fallback
  }
}

/**
 * Intl formatters by language, made once: constructing one costs far more
 * than using it, and the pages pluralise and format on every refresh.
 */
const formatters = new Map<Lang, { plural: Intl.PluralRules, dateTime: Intl.DateTimeFormat }>()
function formats (lang: Lang): { plural: Intl.PluralRules, dateTime: Intl.DateTimeFormat } {
  let f = formatters.get(lang)
  if (f === undefined) {
    f = { plural: new Intl.PluralRules(lang), dateTime: new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'short' }) }
    formatters.set(lang, f)
  }
  return f
}

function fill (text: string, params?: Params): string {
  if (params === undefined) return text
  return text.replace(/\{(\w+)\}/g, (m, name: string) => name in params ? String(params[name]) : m)
}

export const i18n = new I18n()

/** The message `key` in the current language. Reactive in templates. */
export function t (key: MessageKey, params?: Params): string {
  return i18n.t(key, params)
}
