/**
 * The console's browser script (vanilla, no build step). It builds the DOM with textContent only (no
 * innerHTML, so nothing from the daemon or the config can inject markup), sends the CSRF token on every
 * state-changing request, and follows /events (Server-Sent Events) for live updates.
 */
// biome-ignore lint/complexity/noUselessStringRaw: raw on purpose, so a backslash typed in the script stays one.
export const APP_JS = String.raw`(function () {
  'use strict';
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var state = { status: null, down: null, config: null, configError: null, events: [], live: false, editing: null, adding: null };
  var VIEWS = ['control', 'global', 'redundancy', 'virtual'];

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') e.textContent = String(v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    });
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function $(id) { return document.getElementById(id); }

  function api(method, url, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'x-csrf-token': csrf, accept: 'application/json' } };
    if (body !== undefined) { opts.headers['content-type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401) { location.href = '/login?expired=1'; throw new Error('session expired'); }
      return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
    });
  }

  // ---- navigation ----
  function current() { var v = location.hash.slice(1); return VIEWS.indexOf(v) >= 0 ? v : 'control'; }
  function show() {
    var v = current();
    VIEWS.forEach(function (x) { $('view-' + x).hidden = x !== v; });
    Array.prototype.forEach.call(document.querySelectorAll('#tabs a'), function (a) {
      a.classList.toggle('active', a.getAttribute('data-view') === v);
    });
    if (v === 'control') renderControl();
    else if (!state.config) loadConfig(); else renderConfig();
  }
  window.addEventListener('hashchange', show);

  // ---- live status ----
  function connect() {
    var es = new EventSource('/events');
    es.addEventListener('status', function (e) {
      state.status = JSON.parse(e.data); state.down = null; state.live = true; renderLive(); renderControl();
    });
    es.addEventListener('daemon', function (e) {
      var ev = JSON.parse(e.data);
      state.events.unshift(ev); state.events = state.events.slice(0, 30); renderEvents();
    });
    es.addEventListener('down', function (e) { state.down = JSON.parse(e.data).error; renderLive(); renderControl(); });
    es.addEventListener('expired', function () { es.close(); location.href = '/login?expired=1'; });
    es.onopen = function () { state.live = true; renderLive(); };
    es.onerror = function () {
      state.live = false; renderLive();
      if (es.readyState === 2) setTimeout(function () { fetch('/api/session', { credentials: 'same-origin' }).then(function (r) {
        if (r.status === 401) location.href = '/login?expired=1'; else connect();
      }); }, 2000);
    };
  }
  function renderLive() {
    var l = $('live');
    var up = state.live && !state.down;
    l.textContent = up ? 'live' : (state.down ? 'daemon unreachable' : 'offline');
    l.className = 'live ' + (up ? 'on' : 'off');
    var r = $('header-role');
    var role = state.status ? state.status.role : '…';
    r.textContent = state.status ? role + ' (' + state.status.node + ')' : '…';
    r.className = 'role role-' + role;
  }

  function ago(ms) { if (ms === null || ms === undefined) return 'never'; return ms < 10000 ? Math.round(ms) + ' ms ago' : (ms / 1000).toFixed(1) + ' s ago'; }
  function kv(pairs) {
    var dl = el('dl', { class: 'kv' });
    pairs.forEach(function (p) { dl.appendChild(el('dt', { text: p[0] })); dl.appendChild(el('dd', { id: p[2] }, [p[1]])); });
    return dl;
  }
  function control(cmd, args, question) {
    if (question && !window.confirm(question)) return;
    api('POST', '/api/control/' + cmd, args || {}).then(function (r) {
      note('control-msg', r.status === 200 ? 'ok' : 'error', r.status === 200 ? cmd + ': ' + JSON.stringify(r.body.result) : cmd + ' failed: ' + (r.body.error || r.status));
    });
  }
  function note(id, kind, text) { var n = $(id); if (!n) return; n.className = 'msg ' + kind; n.textContent = text; n.hidden = false; }

  function renderControl() {
    var root = $('view-control');
    if (root.hidden) return;
    var s = state.status;
    clear(root);
    if (!s) { root.appendChild(el('p', { class: 'msg ' + (state.down ? 'error' : 'warn'), text: state.down ? 'The daemon is unreachable: ' + state.down : 'Waiting for the daemon…' })); return; }
    if (state.down) root.appendChild(el('p', { class: 'msg error', text: 'The daemon is unreachable: ' + state.down + ' (showing the last status)' }));
    s.warnings.forEach(function (w) { root.appendChild(el('p', { class: 'msg warn', text: 'Warning: ' + w })); });
    var heard = Object.keys(s.peer.last_heard_ms).map(function (k) { return k + ' ' + ago(s.peer.last_heard_ms[k]); }).join(', ') || 'never';
    // Connection sync (docs/sync.md): mechanism, state and role, entries, age of the last update, the resync.
    var y = s.sync;
    var syncText = !y ? '–' : y.mechanism === 'none' ? (y.state === 'fault' ? 'FAULT: ' : 'off') + (y.detail ? ' (' + y.detail + ')' : '') :
      (y.mechanism === 'ipvs' ? 'IPVS sync daemon' : 'conntrackd') + ' ' + (y.state === 'fault' ? 'FAULT' : y.state) + ' as ' + y.role +
      (y.detail ? ': ' + y.detail : '') +
      (y.entries ? '; entries ' + Object.keys(y.entries).map(function (k) { return k + ' ' + y.entries[k]; }).join(', ') : '') +
      (y.last_update_ms !== undefined ? '; last update ' + ago(y.last_update_ms) : '') +
      (y.resync && y.resync.state !== 'not-needed' ? '; resync ' + y.resync.state + (y.resync.ms !== undefined ? ' in ' + y.resync.ms + ' ms' : '') : '') +
      (y.hold ? '; HOLDING takeovers: ' + y.hold : '') + (s.peer.resync_pending ? '; peer resyncing' : '');
    var roleCard = el('div', { class: 'card' }, [
      el('h2', { text: 'This router' }),
      kv([
        ['Role', el('span', { class: 'role role-big role-' + s.role, id: 'role', text: s.role }), 'role-dd'],
        ['Node', s.node], ['Since', s.since],
        ['Heartbeat auth', s.auth === 'hmac' ? 'HMAC-SHA256' : 'NONE (unauthenticated)'],
        ['Config', s.config.path + ' (' + s.config.hash.slice(0, 12) + ')'],
      ]),
      el('div', { class: 'actions' }, [
        el('button', { class: 'primary', id: 'btn-takeover', text: 'Take over', onclick: function () { control('takeover', {}, 'Make this router active now?'); } }),
        el('button', { id: 'btn-release', text: 'Release to peer', onclick: function () { control('release', {}, 'Hand over to the peer router?'); } }),
      ]),
      el('p', { id: 'control-msg', class: 'msg', hidden: true }),
    ]);
    var peerCard = el('div', { class: 'card' }, [
      el('h2', { text: 'Peer' }),
      kv([['Address', s.peer.address], ['State', s.peer.state || 'unknown', 'peer-state'], ['Last heard', heard],
        ['LB config', s.peer.config_mismatch ? 'DIFFERS FROM OURS' : 'same as ours'],
        ['Connection sync', syncText, 'sync-state'],
        ['Heartbeats', s.heartbeat ? 'sent ' + s.heartbeat.sent + ', received ' + s.heartbeat.received +
          ', rejected ' + (Object.keys(s.heartbeat.rejected).map(function (k) { return k + ' ' + s.heartbeat.rejected[k]; }).join(', ') || '0') +
          '; worst keepalive lateness ' + s.heartbeat.keepalive_late_max_ms + ' ms' +
          (Object.keys(s.heartbeat.faults || {}).length ? '; FAULTS: ' + Object.keys(s.heartbeat.faults).map(function (k) { return k + ' ' + s.heartbeat.faults[k]; }).join(', ') : '') : '–', 'heartbeat-stats']]),
      el('h2', { text: 'Virtual IPs' }),
      el('ul', { id: 'vips', class: 'transitions' }, s.vips.map(function (v) {
        return el('li', {}, [v.address + '/' + v.prefix + (v.device ? ' on ' + v.device : '') + ' ', el('span', { class: 'state ' + (v.present ? 'state-up' : 'state-drained'), text: v.present ? 'held' : 'not held' })]);
      })),
    ]);
    root.appendChild(el('div', { class: 'grid' }, [roleCard, peerCard]));

    var t = el('table', { id: 'lb-table' }, [el('tr', {}, ['Service / real server', 'Forward', 'Weight', 'State', 'Last probe', ''].map(function (h) { return el('th', { text: h }); }))]);
    s.virtual_servers.forEach(function (v) {
      var svc = (v.fwmark !== undefined ? 'FWM ' + v.fwmark : v.protocol.toUpperCase() + ' ' + v.address + ':' + v.port) + '  ' + v.scheduler + (v.persistent ? ' persistent ' + v.persistent : '') + (v.sorry_server_in ? ' [sorry server in]' : '');
      t.appendChild(el('tr', { class: 'vs-row' }, [el('td', { colspan: 6, text: v.name + ' — ' + svc })]));
      v.real_servers.forEach(function (r) {
        var key = v.name + '/' + r.name;
        var p = r.last_probe ? (r.last_probe.ok ? 'ok ' : 'FAIL ') + r.last_probe.detail + ' (' + r.last_probe.ms + ' ms)' : '–';
        t.appendChild(el('tr', { 'data-rs': key }, [
          el('td', { text: '→ ' + r.name + '  ' + r.address + ':' + r.port }),
          el('td', { text: r.forwarding }),
          el('td', { class: 'weight', text: r.weight + (r.weight !== r.configured_weight ? ' / ' + r.configured_weight : '') }),
          el('td', {}, [el('span', { class: 'state state-' + r.state, text: r.state })]),
          el('td', { class: 'muted', text: p }),
          el('td', {}, [r.state === 'drained'
            ? el('button', { text: 'Enable', onclick: function () { control('enable', { server: key }); } })
            : el('button', { class: 'danger', text: 'Drain', onclick: function () { control('drain', { server: key }, 'Drain ' + key + '?'); } })]),
        ]));
      });
    });
    root.appendChild(el('h2', { text: 'Load-balancing table (' + s.lb.backend + ', apply errors ' + s.lb.apply_errors + ')' }));
    root.appendChild(t);

    var tr = s.transitions.slice(-10).reverse();
    root.appendChild(el('div', { class: 'grid' }, [
      el('div', { class: 'card' }, [el('h2', { text: 'Recent transitions' }),
        el('ul', { class: 'transitions', id: 'transitions' }, tr.length ? tr.map(function (x) { return el('li', { text: x.at + '  ' + x.from + ' → ' + x.to + ': ' + (x.evidence || x.reason) }); }) : [el('li', { class: 'muted', text: 'none' })])]),
      el('div', { class: 'card' }, [el('h2', { text: 'Live events' }), el('ul', { class: 'events', id: 'events' })]),
    ]));
    renderEvents();
  }
  function renderEvents() {
    var u = $('events'); if (!u) return;
    clear(u);
    if (!state.events.length) u.appendChild(el('li', { class: 'muted', text: 'none yet' }));
    state.events.forEach(function (e) { u.appendChild(el('li', { text: (e.time || '') + '  ' + (e.type || '') + ': ' + (e.msg || JSON.stringify(e)) })); });
  }

  // ---- configuration ----
  function loadConfig() {
    return api('GET', '/api/config').then(function (r) {
      if (r.status === 200) { state.config = r.body; state.configError = null; }
      else { state.config = null; state.configError = r.body.errors || [{ message: r.body.error || 'cannot load the configuration' }]; }
      renderConfig();
    });
  }
  function input(f, formId) {
    var id = formId + '--' + f.id;
    var common = { id: id, name: f.id, disabled: f.readOnly, 'aria-describedby': id + '--err', title: f.readOnly ? 'set in the configuration file on the router, never from the web: ' + f.readOnlyReason : undefined };
    if (f.type === 'bool') { var c = el('input', Object.assign({ type: 'checkbox' }, common)); c.checked = !!f.value; return c; }
    if (f.type === 'enum') {
      var opts = f.options.indexOf(String(f.value)) < 0 ? [String(f.value)].concat(f.options) : f.options;
      var s = el('select', common, opts.map(function (o) { return el('option', { value: o, text: o === '' ? '(default)' : o }); }));
      s.value = String(f.value === undefined ? '' : f.value); return s;
    }
    var i = el('input', Object.assign({ type: 'text', inputmode: f.type === 'int' ? 'numeric' : undefined }, common));
    i.value = f.value === undefined || f.value === null ? '' : String(f.value);
    return i;
  }
  function buildForm(formId, fields, submitText, send) {
    var form = el('form', { class: 'cfg', id: formId, novalidate: true });
    fields.forEach(function (f) {
      form.appendChild(el('div', { class: 'field', 'data-field': f.id }, [
        el('label', { for: formId + '--' + f.id, text: f.label }), input(f, formId),
        f.help ? el('div', { class: 'help', text: f.help }) : null,
        el('div', { class: 'error', id: formId + '--' + f.id + '--err', role: 'alert' }),
      ]));
    });
    var msg = el('div', { class: 'form-errors', id: formId + '--msg' });
    form.appendChild(msg);
    form.appendChild(el('div', { class: 'submit' }, [el('button', { type: 'submit', class: 'primary', text: submitText })]));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var values = {};
      fields.forEach(function (f) {
        if (f.readOnly) return;
        var e = form.elements.namedItem(f.id);
        values[f.id] = f.type === 'bool' ? e.checked : e.value;
      });
      send(values).then(function (r) { showResult(form, r); });
    });
    return form;
  }
  function showResult(form, r) {
    if (r.status === 200) {
      var rel = r.body.reload || {};
      var text = 'Saved to ' + r.body.path + ' (previous version kept as ' + r.body.previous + '); ' +
        (rel.ok ? 'reload applied.' : 'reload NOT applied: ' + (rel.error || (rel.errors || []).join('; '))) +
        (r.body.peer ? ' Peer router: ' + (r.body.peer.ok ? 'pushed, ' + (r.body.peer.reload && r.body.peer.reload.ok ? 'reload applied.' : 'reload NOT applied.') : 'push FAILED: ' + (r.body.peer.error || JSON.stringify(r.body.peer))) : '');
      state.flash = { kind: rel.ok && (!r.body.peer || r.body.peer.ok) ? 'ok' : 'warn', text: text };
      return loadConfig();
    }
    Array.prototype.forEach.call(form.querySelectorAll('.field'), function (d) { d.classList.remove('invalid'); d.querySelector('.error').textContent = ''; });
    var msg = form.querySelector('.form-errors'); clear(msg);
    (r.body.errors || [{ message: r.body.error || ('error ' + r.status) }]).forEach(function (e) {
      var where = e.line ? ' (line ' + e.line + (e.col ? ', column ' + e.col : '') + ' of the file that would be written)' : '';
      var row = e.field ? form.querySelector('[data-field="' + CSS.escape(e.field) + '"]') : null;
      if (row) { row.classList.add('invalid'); row.querySelector('.error').textContent = e.message + where; row.querySelector('input,select').setAttribute('aria-invalid', 'true'); }
      else msg.appendChild(el('p', { class: 'msg error', text: e.message + where }));
    });
    var first = form.querySelector('.invalid input, .invalid select'); if (first) first.focus();
  }
  function edit(method, url, fields) { return api(method, url, { version: state.config.version, fields: fields }); }
  function flash(root) {
    if (state.flash) { root.appendChild(el('p', { class: 'msg ' + state.flash.kind, id: 'flash', text: state.flash.text })); state.flash = null; }
  }
  function header(root, title) {
    root.appendChild(el('h2', { text: title }));
    if (state.config) root.appendChild(el('p', { class: 'muted', text: 'File ' + state.config.path + ' (' + state.config.format + ', serial ' + state.config.serial + '). Every save is checked by the same validator as pulse --check-config, written atomically (previous version kept) and applied by a reload.' }));
    flash(root);
  }
  function renderConfig() {
    var v = current(); if (v === 'control') return;
    var root = clear($('view-' + v));
    if (state.configError) { state.configError.forEach(function (e) { root.appendChild(el('p', { class: 'msg error', text: (e.line ? 'line ' + e.line + ': ' : '') + e.message })); }); return; }
    if (!state.config) { root.appendChild(el('p', { class: 'muted', text: 'Loading…' })); return; }
    var c = state.config;
    if (v === 'global') { header(root, 'Global settings'); root.appendChild(el('div', { class: 'card' }, [buildForm('form-global', c.global, 'Save global settings', function (f) { return edit('PUT', '/api/config/global', f); })])); }
    if (v === 'redundancy') { header(root, 'Redundancy'); root.appendChild(el('div', { class: 'card' }, [buildForm('form-redundancy', c.redundancy, 'Save redundancy', function (f) { return edit('PUT', '/api/config/redundancy', f); })])); }
    if (v === 'virtual') renderVirtual(root);
  }
  function enc(s) { return encodeURIComponent(s); }
  function renderVirtual(root) {
    var c = state.config;
    header(root, 'Virtual servers');
    var t = el('table', { id: 'vs-table' }, [el('tr', {}, ['Name', 'Virtual IP', 'Service', 'Scheduler', 'Real servers', 'Status', ''].map(function (h) { return el('th', { text: h }); }))]);
    c.virtualServers.forEach(function (v) {
      t.appendChild(el('tr', { 'data-vs': v.name }, [
        el('td', { class: v.active ? '' : 'inactive', text: v.name }), el('td', { text: v.vip }), el('td', { text: v.service }), el('td', { text: v.scheduler }),
        el('td', { text: String(v.realServers.length) }), el('td', {}, [el('span', { class: 'state ' + (v.active ? 'state-up' : 'state-drained'), text: v.active ? 'active' : 'down' })]),
        el('td', {}, [
          el('button', { text: 'Edit', onclick: function () { state.editing = v.name; state.adding = null; renderConfig(); } }), ' ',
          el('button', { text: v.active ? 'Deactivate' : 'Activate', onclick: function () { edit('PUT', '/api/config/virtual/' + enc(v.name), { active: !v.active }).then(function (r) { showTop(r); }); } }), ' ',
          el('button', { class: 'danger', text: 'Delete', onclick: function () { if (confirm('Delete virtual server ' + v.name + '?')) edit('DELETE', '/api/config/virtual/' + enc(v.name)).then(function (r) { if (state.editing === v.name) state.editing = null; showTop(r); }); } }),
        ]),
      ]));
    });
    root.appendChild(t);
    root.appendChild(el('div', { class: 'actions' }, [el('button', { id: 'btn-add-vs', text: 'Add virtual server', onclick: function () { state.adding = 'virtual'; state.editing = null; renderConfig(); } })]));
    root.appendChild(el('div', { id: 'top-msg' }));
    if (state.adding === 'virtual') {
      root.appendChild(el('h2', { text: 'New virtual server' }));
      root.appendChild(el('div', { class: 'card' }, [buildForm('form-vs-new', c.templates.virtual, 'Add virtual server', function (f) { return edit('POST', '/api/config/virtual', f).then(function (r) { if (r.status === 200) state.adding = null; return r; }); })]));
    }
    var vs = c.virtualServers.filter(function (v) { return v.name === state.editing; })[0];
    if (!vs) return;
    root.appendChild(el('h2', { text: 'Virtual server ' + vs.name }));
    root.appendChild(el('div', { class: 'card' }, [buildForm('form-vs', vs.fields, 'Save virtual server', function (f) {
      return edit('PUT', '/api/config/virtual/' + enc(vs.name), f).then(function (r) { if (r.status === 200) state.editing = f.name; return r; });
    })]));
    root.appendChild(el('h2', { text: 'Real servers of ' + vs.name }));
    var rt = el('table', { id: 'rs-table' }, [el('tr', {}, ['Name', 'Address', 'Port', 'Weight', 'Status', ''].map(function (h) { return el('th', { text: h }); }))]);
    vs.realServers.forEach(function (r) {
      rt.appendChild(el('tr', { 'data-rs': r.name }, [
        el('td', { class: r.active ? '' : 'inactive', text: r.name }), el('td', { text: r.address }), el('td', { text: String(r.port) }), el('td', { text: String(r.weight) }),
        el('td', {}, [el('span', { class: 'state ' + (r.active ? 'state-up' : 'state-drained'), text: r.active ? 'active' : 'down' })]),
        el('td', {}, [
          el('button', { text: 'Edit', onclick: function () { state.editingReal = r.name; renderConfig(); } }), ' ',
          el('button', { text: r.active ? 'Deactivate' : 'Activate', onclick: function () { edit('PUT', '/api/config/virtual/' + enc(vs.name) + '/real/' + enc(r.name), { active: !r.active }).then(showTop); } }), ' ',
          el('button', { class: 'danger', text: 'Delete', onclick: function () { if (confirm('Delete real server ' + r.name + '?')) edit('DELETE', '/api/config/virtual/' + enc(vs.name) + '/real/' + enc(r.name)).then(showTop); } }),
        ]),
      ]));
    });
    root.appendChild(rt);
    root.appendChild(el('div', { class: 'actions' }, [el('button', { id: 'btn-add-rs', text: 'Add real server', onclick: function () { state.editingReal = '+'; renderConfig(); } })]));
    if (state.editingReal === '+') {
      var tpl = c.templates.real.map(function (f) { return f.id === 'port' ? Object.assign({}, f, { value: vs.port }) : f; });
      root.appendChild(el('div', { class: 'card' }, [buildForm('form-rs-new', tpl, 'Add real server', function (f) { return edit('POST', '/api/config/virtual/' + enc(vs.name) + '/real', f).then(function (r) { if (r.status === 200) state.editingReal = null; return r; }); })]));
    } else {
      var rs = vs.realServers.filter(function (r) { return r.name === state.editingReal; })[0];
      if (rs) root.appendChild(el('div', { class: 'card' }, [el('h2', { text: 'Real server ' + rs.name }), buildForm('form-rs', rs.fields, 'Save real server', function (f) {
        return edit('PUT', '/api/config/virtual/' + enc(vs.name) + '/real/' + enc(rs.name), f).then(function (r) { if (r.status === 200) state.editingReal = f.name; return r; });
      })]));
    }
  }
  function showTop(r) {
    if (r.status === 200) return showResult(document.createElement('form'), r);
    var m = $('top-msg'); if (!m) return;
    clear(m);
    (r.body.errors || [{ message: r.body.error || 'error ' + r.status }]).forEach(function (e) { m.appendChild(el('p', { class: 'msg error', text: (e.field ? e.field + ': ' : '') + e.message + (e.line ? ' (line ' + e.line + ')' : '') })); });
  }

  $('footer').textContent = 'lvs-pulse web console: every request authenticated; every change audited to syslog.';
  connect();
  show();
})();
`;
