# ruff: noqa: E501  (embedded JavaScript keeps its natural line length)
"""The web UI's people page (``/people``): one's own account and tokens; for admins, every account
(add, role, teams, disable, reset password) and the teams (add, visibility). It only calls the API
(``people_api``), which decides what is allowed; a secret the API returns is shown once, here."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labdcs.experiments.web_base import page

BODY = """
<div class="card"><div id="me"></div></div>
<h2>Your tokens</h2>
<p class="muted">For scripts and harvesters: <code>Authorization: Bearer &lt;token&gt;</code>. The token is shown once, when it is made.</p>
<table id="tokens"><thead><tr><th>token</th><th>name</th><th>account</th><th>scopes</th><th>created</th><th>last used</th><th>revoked</th><th></th></tr></thead><tbody></tbody></table>
<div class="filters spaced"><input id="tname" placeholder="what it is for">
 <label><input type="checkbox" class="scope" value="read" checked> read</label>
 <label><input type="checkbox" class="scope" value="import"> import</label>
 <label><input type="checkbox" class="scope" value="control"> control</label>
 <input id="taccount" placeholder="account (admins: e.g. a harvester)" hidden>
 <button id="tmake">Make token</button></div>
<p id="secret" class="ok" hidden></p><p id="tmsg" class="error"></p>
<div id="admin" hidden>
<h2>Accounts</h2>
<table id="users"><thead><tr><th>login</th><th>name</th><th>kind</th><th>role</th><th>teams</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
<div class="filters spaced"><input id="uid" placeholder="login (lower case)"><input id="uname" placeholder="full name">
 <select id="urole"><option>viewer</option><option>operator</option><option>admin</option></select>
 <select id="ukind"><option>person</option><option>harvester</option></select>
 <input id="uteams" placeholder="teams, comma-separated" value="lab"><button id="uadd">Add account</button></div>
<p id="umsg"></p>
<h2>Teams</h2>
<table id="teams"><thead><tr><th>team</th><th>name</th><th>others may read its data</th></tr></thead><tbody></tbody></table>
<div class="filters spaced"><input id="gid" placeholder="team id"><input id="gname" placeholder="name">
 <select id="gvis"><option value="lab">lab-wide read</option><option value="team">members only</option></select><button id="gadd">Add team</button></div>
<p id="gmsg" class="error"></p>
</div>
"""

SCRIPT = r"""
const send = (path, method, data) => api(path, {method, headers:{'Content-Type':'application/json'}, body: data === undefined ? undefined : JSON.stringify(data)});
const note = (el, text, ok) => { el.className = ok ? 'ok' : 'error'; el.textContent = text; };
let ME;
async function tokens() {
  const t = await api('/api/tokens');
  $('#tokens tbody').innerHTML = t.map(x => `<tr><td>${esc(x.id)}</td><td>${clip(x.name)}</td><td>${esc(x.account)}</td><td>${esc(x.scopes.join(', '))}</td>
    <td class="when">${fmtWhen(x.created)}</td><td class="when">${fmtWhen(x.last_used)}</td><td class="when">${fmtWhen(x.revoked)}</td>
    <td>${x.revoked ? '' : `<button class="secondary revoke" data-id="${esc(x.id)}">Revoke</button>`}</td></tr>`).join('');
  if (!t.length) sayRow($('#tokens tbody'), 'No tokens yet.');
  document.querySelectorAll('.revoke').forEach(b => b.onclick = async () => {
    try { await send('/api/tokens/' + b.dataset.id, 'DELETE'); tokens(); } catch (e) { note($('#tmsg'), e.message); } });
}
async function users() {
  const u = await api('/api/users');
  $('#users tbody').innerHTML = u.map(x => `<tr data-id="${esc(x.id)}"><td>${esc(x.id)}</td><td>${clip(x.name)}</td><td>${esc(x.kind)}</td>
    <td><select class="role">${['viewer','operator','admin'].map(r => `<option ${r === x.role ? 'selected' : ''}>${r}</option>`).join('')}</select></td>
    <td><input class="teams" value="${esc(x.teams.join(', '))}"></td><td>${x.disabled ? 'disabled' : 'enabled'}</td>
    <td><button class="secondary save">Save</button> <button class="secondary toggle">${x.disabled ? 'Enable' : 'Disable'}</button>
    ${x.kind === 'person' ? '<button class="secondary reset">Reset password</button>' : ''}</td></tr>`).join('');
  document.querySelectorAll('#users tr[data-id]').forEach(row => {
    const id = row.dataset.id, path = '/api/users/' + encodeURIComponent(id);
    const act = async (f, ok) => { try { const r = await f(); note($('#umsg'), ok(r), true); users(); } catch (e) { note($('#umsg'), e.message); } };
    row.querySelector('.save').onclick = () => act(() => send(path, 'PATCH', {role: row.querySelector('.role').value,
      teams: row.querySelector('.teams').value.split(',').map(s => s.trim()).filter(Boolean)}), () => `${id} saved`);
    row.querySelector('.toggle').onclick = () => act(() => send(path, 'PATCH', {disabled: row.cells[5].textContent === 'enabled'}), r => `${id} ${r.disabled ? 'disabled' : 'enabled'}`);
    const reset = row.querySelector('.reset');
    if (reset) reset.onclick = () => act(() => send(path + '/password', 'POST'), r => `new password of ${id} (shown once): ${r.password}`);
  });
}
async function teams() {
  const g = await api('/api/teams');
  $('#teams tbody').innerHTML = g.map(x => `<tr data-id="${esc(x.id)}"><td>${esc(x.id)}</td><td>${clip(x.name)}</td>
    <td><select class="vis"><option value="lab" ${x.visibility === 'lab' ? 'selected' : ''}>everyone (lab-wide)</option>
    <option value="team" ${x.visibility === 'team' ? 'selected' : ''}>members only</option></select></td></tr>`).join('');
  document.querySelectorAll('#teams .vis').forEach(s => s.onchange = async () => {
    try { await send('/api/teams/' + encodeURIComponent(s.closest('tr').dataset.id), 'PATCH', {visibility: s.value}); }
    catch (e) { note($('#gmsg'), e.message); } });
}
$('#tmake').onclick = async () => {
  const scopes = [...document.querySelectorAll('.scope:checked')].map(c => c.value);
  const data = {name: $('#tname').value, scopes}; if ($('#taccount').value) data.account = $('#taccount').value;
  try { const r = await post('/api/tokens', data); note($('#secret'), `token ${r.token.id} (copy it now, it is shown once): ${r.secret}`, true);
        $('#secret').hidden = false; $('#tmsg').textContent = ''; tokens(); }
  catch (e) { note($('#tmsg'), e.message); }
};
$('#uadd').onclick = async () => {
  const data = {id: $('#uid').value, name: $('#uname').value, role: $('#urole').value, kind: $('#ukind').value,
                teams: $('#uteams').value.split(',').map(s => s.trim()).filter(Boolean)};
  try { const r = await post('/api/users', data);
        note($('#umsg'), r.password ? `${r.account.id} added; password (shown once): ${r.password}` : `${r.account.id} added`, true); users(); }
  catch (e) { note($('#umsg'), e.message); }
};
$('#gadd').onclick = async () => {
  try { await post('/api/teams', {id: $('#gid').value, name: $('#gname').value, visibility: $('#gvis').value}); $('#gmsg').textContent = ''; teams(); }
  catch (e) { note($('#gmsg'), e.message); }
};
(async () => {
  ME = await api('/api/me');
  const a = ME.account;
  $('#me').innerHTML = `<b>${esc(a.id)}</b> ${esc(a.name)} · role <b>${esc(a.role)}</b> · teams ${esc(a.teams.join(', '))}`;
  await tokens();
  if (a.role === 'admin') { $('#admin').hidden = false; $('#taccount').hidden = false; await users(); await teams(); }
})();
"""


def router() -> APIRouter:
    web = APIRouter(include_in_schema=False)

    @web.get("/people", response_class=HTMLResponse)
    def people() -> HTMLResponse:
        return page("People and tokens", BODY, SCRIPT)

    return web
