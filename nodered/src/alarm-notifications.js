// alarm notifications (an example to copy): one message when an alarm is raised, cleared or
// acknowledged, from the retained labdcs/v1/<device>/alarm/<alarm> topics.
//
// Output 1: text for the dashboard (ui-notification) and the log.
// Output 2: a webhook request (JSON {"text": ...}, as chat systems take it) when the environment
//           variable LABDCS_NOTIFY_WEBHOOK_URL is set; the URL stays out of the flows.
// LABDCS_NOTIFY_MIN_SEVERITY (default warning) leaves out less severe alarms.
// Alarms already active when Node-RED starts are announced once, as "active since ...".

const SEVERITY = { info: 0, warning: 1, error: 2, critical: 3 }
const minimum = SEVERITY[env.get('LABDCS_NOTIFY_MIN_SEVERITY') || 'warning'] ?? SEVERITY.warning
const seen = context.get('seen') || {}
const previous = seen[msg.topic]
const text = typeof msg.payload === 'string' ? msg.payload : String(msg.payload ?? '')

if (text === '') {
    delete seen[msg.topic] // the alarm was removed from the broker
    context.set('seen', seen)
    return null
}
let alarm
try {
    alarm = JSON.parse(text)
} catch (err) {
    node.warn(`malformed alarm on ${msg.topic}: ${err.message}`)
    return null
}
seen[msg.topic] = { active: alarm.active, raised: alarm.raised, acknowledged: alarm.acknowledged || null }
context.set('seen', seen)

const time = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'
let event = null
if (alarm.active && (!previous || !previous.active || previous.raised !== alarm.raised)) {
    event = msg.retain && !previous ? `active since ${time(alarm.raised)}` : 'raised'
} else if (!alarm.active && previous && previous.active) {
    event = 'cleared'
} else if (alarm.acknowledged && previous && !previous.acknowledged) {
    event = `acknowledged${alarm.acknowledged_by ? ' by ' + alarm.acknowledged_by : ''}`
}
if (!event || (SEVERITY[alarm.severity] ?? SEVERITY.critical) < minimum) {
    return null
}

const where = `${alarm.device}${alarm.channel ? '/' + alarm.channel : ''}`
const line = `[${String(alarm.severity).toUpperCase()}] ${where}: ${alarm.message} (${event})`
node.status({ fill: alarm.active ? 'red' : 'green', shape: 'dot', text: line.slice(0, 60) })
const notification = { topic: `${where} ${alarm.alarm}`, payload: line, alarm }
const url = env.get('LABDCS_NOTIFY_WEBHOOK_URL')
const webhook = url
    ? { url, method: 'POST', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ text: line }) }
    : null
return [notification, webhook]
