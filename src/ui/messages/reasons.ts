/**
 * Words for the codes the runtime reports (src/ui/reasons.ts says which
 * code takes which key): why the volunteer waits, model loading steps and
 * sources, refused models, compute provider and threads, fork evidence, and
 * the catalog's model titles (keyed by model id). Every code has a key here;
 * test/unit/ui/reasons.test.ts holds each list of codes to it.
 */
import type { Translation } from './translation.ts'

export const en = {
  'wait.paused': 'paused (see above)',
  'wait.no-job': 'no job announced yet',
  'wait.all-finished': 'every job we know is finished',
  'wait.out-of-reach': 'the requester of every open job is out of reach',
  'wait.retrying': 'retrying after an error',
  'wait.no-shard': 'the requester has no shard for us right now',
  'wait.unsupported': 'no open job can run here: {why}',
  'wait.worker-failed': 'the compute worker stopped working ({error}); reload the page to start it again',
  'unsupported.refused': 'model {model} cannot run here: {error}',
  'unsupported.foreign-off': 'model {model} is not in this app\'s catalog, and running such models is turned off in Settings',
  'load.fetching': 'fetching',
  'load.download': 'from {from}, {percent} %',
  'load.starting': 'starting the runtime',
  'source.cache': 'this browser\'s cache',
  'source.origin': 'this site',
  'source.peer': 'a peer',
  'source.peer-id': 'peer …{peer}',
  'provider.gpu-available': 'WebGPU: a GPU adapter is available.',
  'provider.gpu-off': 'WASM (CPU): GPU use is turned off in settings.',
  'provider.no-webgpu': 'WASM (CPU): this browser has no WebGPU.',
  'provider.no-adapter': 'WASM (CPU): WebGPU is present but no GPU adapter is available.',
  'provider.adapter-failed': 'WASM (CPU): the WebGPU adapter request failed ({error}).',
  'provider.gpu-failed': 'WASM (CPU): WebGPU failed ({error}).',
  'provider.unavailable': 'Models cannot run in this browser: {error}',
  'threads.not-isolated': '{threads}: the page is not cross-origin isolated, so WASM threads are unavailable.',
  'threads.capped': '{threads}: a budget of {wanted}, capped by {cores} cores.',
  'threads.all-but-one': '{threads}: all but one of {cores} cores.',
  'threads.budget': '{threads}: your CPU budget.',
  'fork.same-size': 'requester {who} signed two different roots for size {size}',
  'fork.bad-consistency': 'requester {who} signed a head of size {size} whose consistency proof from its previous head fails',
  'fork.leaf-conflict': 'requester {who} proved two different verdicts at leaf {index}',
  'model.digits': 'Handwritten digits (CNN trained here on MNIST)',
  'model.ocr-det': 'Text detection (PaddleOCR PP-OCRv4 det)',
  'model.ocr-rec': 'Text recognition (PaddleOCR PP-OCRv4 rec, CTC)',
  'model.vad': 'Voice activity (Silero VAD v5)'
} as const

export const fr: Translation<typeof en> = {
  'wait.paused': 'en pause (voir plus haut)',
  'wait.no-job': 'aucune tâche annoncée pour l\'instant',
  'wait.all-finished': 'toutes les tâches connues sont terminées',
  'wait.out-of-reach': 'le demandeur de chaque tâche ouverte est hors de portée',
  'wait.retrying': 'nouvel essai après une erreur',
  'wait.no-shard': 'le demandeur n\'a pas de morceau pour nous pour l\'instant',
  'wait.unsupported': 'aucune tâche ouverte ne peut tourner ici : {why}',
  'wait.worker-failed': 'le moteur de calcul s\'est arrêté ({error}) ; rechargez la page pour le relancer',
  'unsupported.refused': 'le modèle {model} ne peut pas tourner ici : {error}',
  'unsupported.foreign-off': 'le modèle {model} n\'est pas au catalogue de l\'application, et l\'exécution de tels modèles est désactivée dans les Réglages',
  'load.fetching': 'téléchargement',
  'load.download': 'depuis {from}, {percent} %',
  'load.starting': 'démarrage du moteur',
  'source.cache': 'le cache de ce navigateur',
  'source.origin': 'ce site',
  'source.peer': 'un pair',
  'source.peer-id': 'le pair …{peer}',
  'provider.gpu-available': 'WebGPU : un adaptateur graphique est disponible.',
  'provider.gpu-off': 'WASM (processeur) : l\'utilisation du GPU est désactivée dans les réglages.',
  'provider.no-webgpu': 'WASM (processeur) : ce navigateur n\'a pas WebGPU.',
  'provider.no-adapter': 'WASM (processeur) : WebGPU est présent mais aucun adaptateur graphique n\'est disponible.',
  'provider.adapter-failed': 'WASM (processeur) : la demande d\'adaptateur WebGPU a échoué ({error}).',
  'provider.gpu-failed': 'WASM (processeur) : WebGPU a échoué ({error}).',
  'provider.unavailable': 'Les modèles ne peuvent pas tourner dans ce navigateur : {error}',
  'threads.not-isolated': '{threads} : la page n\'est pas isolée de toute autre origine (cross-origin isolation), les fils WASM sont donc indisponibles.',
  'threads.capped': '{threads} : un budget de {wanted}, limité par {cores} cœurs.',
  'threads.all-but-one': '{threads} : tous les cœurs sauf un, sur {cores}.',
  'threads.budget': '{threads} : votre budget processeur.',
  'fork.same-size': 'le demandeur {who} a signé deux racines différentes pour la taille {size}',
  'fork.bad-consistency': 'le demandeur {who} a signé une tête de taille {size} dont la preuve de cohérence depuis sa tête précédente échoue',
  'fork.leaf-conflict': 'le demandeur {who} a prouvé deux verdicts différents à la feuille {index}',
  'model.digits': 'Chiffres manuscrits (CNN entraîné ici sur MNIST)',
  'model.ocr-det': 'Détection de texte (PaddleOCR PP-OCRv4 det)',
  'model.ocr-rec': 'Reconnaissance de texte (PaddleOCR PP-OCRv4 rec, CTC)',
  'model.vad': 'Activité vocale (Silero VAD v5)'
}
