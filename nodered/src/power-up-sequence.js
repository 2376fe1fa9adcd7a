// power-up sequence (an example to copy): LV on, wait for its readback, then ramp HV to a target.
//
// Input, by msg.topic:
//   "start"  msg.payload = { lv: {device, channel, voltage, current_limit},
//                            hv: {device, channel, voltage, current_limit},
//                            tolerance (fraction, default 0.02), timeout_s (per step, default 60) }
//            (current_limit, in A, is optional: without it the channel's present limit stays)
//   "abort"  stop the sequence; HV is switched off (it ramps down) if this run switched it on
//   "tick"   checks the step's deadline (an inject node sends it every second)
//   labdcs/v1/<device>/ack, labdcs/v1/<device>/<channel>/state   from the mqtt in nodes
// Output 1: commands for the mqtt out node. Output 2: one message per step, for logs or the UI.
// Every command waits for its ack; a rejected or missing ack, or a readback that does not arrive
// in time, stops the sequence (and switches HV off again if this run switched it on).

const run = context.get('run')

function command (target, verb, value) {
    const id = `seq-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
    const body = { id, user: 'nodered:power-up-sequence', ts: Date.now() }
    if (value !== undefined) {
        body.value = value
    }
    // The last level is Node-RED's broker login: the broker accepts no other name there.
    const sender = env.get('LABDCS_MQTT__USERNAME')
    return { id, msg: { topic: `labdcs/v1/${target.device}/${target.channel}/cmd/${verb}/${sender}`, payload: JSON.stringify(body), qos: 1, retain: false } }
}

function report (text, fill) {
    node.status({ fill, shape: 'dot', text })
    return { topic: 'power-up-sequence', payload: text }
}

/** The steps, in order: each sends a command and waits for its ack, or waits for a readback. */
function steps (config) {
    const limit = (target) => (typeof target.current_limit === 'number' ? [{ send: [target, 'set_current_limit', target.current_limit] }] : [])
    return [
        ...limit(config.lv),
        { send: [config.lv, 'set_voltage', config.lv.voltage] },
        { send: [config.lv, 'on'] },
        { settle: config.lv },
        ...limit(config.hv),
        { send: [config.hv, 'set_voltage', config.hv.voltage] },
        { send: [config.hv, 'on'], hvOn: true },
        { settle: config.hv }
    ]
}

function describe (step) {
    if (step.send) {
        const [target, verb, value] = step.send
        const unit = verb === 'set_current_limit' ? 'A' : 'V'
        return `${target.device}/${target.channel} ${verb}${value === undefined ? '' : ` ${value} ${unit}`}`
    }
    return `waiting for ${step.settle.device}/${step.settle.channel} to read ${step.settle.voltage} V`
}

/** Start step `index` of the run; returns [commands, report]. */
function enter (state, index) {
    const all = steps(state.config)
    if (index >= all.length) {
        context.set('run', null)
        const hv = state.config.hv
        return [null, report(`done: ${hv.device}/${hv.channel} is at ${hv.voltage} V`, 'green')]
    }
    const step = all[index]
    state.index = index
    state.deadline = Date.now() + state.config.timeout_s * 1000
    state.pending = null
    let out = null
    if (step.send) {
        const sent = command(...step.send)
        state.pending = sent.id
        state.hvOn = state.hvOn || Boolean(step.hvOn)
        out = sent.msg
    }
    context.set('run', state)
    return [out, report(`step ${index + 1}/${all.length}: ${describe(step)}`, 'blue')]
}

function stop (state, why) {
    context.set('run', null)
    const off = state.hvOn ? command(state.config.hv, 'off').msg : null
    return [off, report(`stopped: ${why}${off ? '; HV switched off' : ''}`, 'red')]
}

function settled (target, tolerance, state) {
    if (!state || state.kind !== 'power' || typeof state.v_mon !== 'number' || !state.output || state.ramping) {
        return false
    }
    return Math.abs(state.v_mon - target.voltage) <= Math.max(Math.abs(target.voltage) * tolerance, 0.01)
}

if (msg.topic === 'start') {
    if (run) {
        return [null, report('already running: abort it first', 'yellow')]
    }
    const given = msg.payload || {}
    const config = {
        lv: given.lv,
        hv: given.hv,
        tolerance: given.tolerance ?? 0.02,
        timeout_s: given.timeout_s ?? 60
    }
    for (const target of [config.lv, config.hv]) {
        if (!target || !target.device || !target.channel || typeof target.voltage !== 'number') {
            return [null, report('start needs lv and hv, each with device, channel and voltage', 'red')]
        }
    }
    return enter({ config, index: 0, hvOn: false }, 0)
}
if (!run) {
    return null
}
const step = steps(run.config)[run.index]
if (msg.topic === 'abort') {
    return stop(run, 'aborted')
}
if (msg.topic === 'tick') {
    return Date.now() > run.deadline ? stop(run, `timeout: ${describe(step)}`) : null
}
const levels = String(msg.topic).split('/')
let message
try {
    message = JSON.parse(msg.payload)
} catch (err) {
    return null // an empty (removed) retained message, or malformed: not for this sequence
}
if (levels[3] === 'ack' && run.pending && message.id === run.pending) {
    if (message.result !== 'accepted') {
        return stop(run, `${describe(step)} ${message.result}: ${message.reason || 'no reason given'}`)
    }
    return enter(run, run.index + 1)
}
if (levels[4] === 'state' && step.settle && levels[2] === step.settle.device && levels[3] === step.settle.channel) {
    if (settled(step.settle, run.config.tolerance, message)) {
        return enter(run, run.index + 1)
    }
}
return null
