/**
 * The UI's view of the power gate: one `PowerGate` per tab, created by
 * App.svelte and shared through context. The runtime waits on `gate`
 * itself; components read `state`, which follows every `power:change`.
 */
import { getContext, setContext } from 'svelte'
import { PowerGate, type PowerState } from '../../swarm/power-gate.ts'

export class PowerStore {
  readonly gate: PowerGate
  state: PowerState

  constructor (gate: PowerGate = new PowerGate()) {
    this.gate = gate
    this.state = $state(gate.state)
    gate.addEventListener('power:change', evt => { this.state = evt.detail })
  }

  async start (): Promise<void> {
    await this.gate.start()
    this.state = this.gate.state
  }

  stop (): void {
    this.gate.stop()
  }
}

const KEY = Symbol('essaim:power')

export function setPower (power: PowerStore): void {
  setContext(KEY, power)
}

export function getPower (): PowerStore {
  const power = getContext<PowerStore | undefined>(KEY)
  if (power === undefined) throw new Error('getPower() called outside <App>')
  return power
}
