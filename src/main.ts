/** Entry point: mounts the Svelte app. Everything else starts from App. */
import { mount } from 'svelte'
import App from './ui/App.svelte'
import './ui/app.css'
import { registerServiceWorker } from './ui/pwa.ts'

const target = document.getElementById('app')
if (target === null) throw new Error('missing #app element')
mount(App, { target })
registerServiceWorker()
