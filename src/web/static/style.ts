/** The console's stylesheet. */
export const STYLE_CSS = `
:root { --fg:#1d2330; --muted:#5c6677; --line:#d9dee7; --bg:#f5f7fa; --card:#fff; --accent:#1f5fa8;
  --ok:#1a7f37; --bad:#c62828; --warn:#b26a00; --standby:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; justify-content:space-between; align-items:center; padding:10px 20px; background:#14213d; color:#fff; }
header form { display:inline; margin:0 0 0 10px; }
header button { background:transparent; color:#fff; border:1px solid #ffffff66; }
.logo { font-weight:700; letter-spacing:.5px; }
.brand { font-size:16px; }
.who { display:flex; align-items:center; gap:10px; }
nav { display:flex; gap:2px; padding:0 20px; background:#22335a; }
nav a { color:#cfd8ea; text-decoration:none; padding:9px 14px; font-size:12.5px; font-weight:600; letter-spacing:.4px; }
nav a.active { background:var(--bg); color:var(--fg); border-radius:4px 4px 0 0; }
main { padding:16px 20px; max-width:1200px; }
footer { padding:8px 20px; color:var(--muted); font-size:12px; }
h2 { font-size:15px; margin:18px 0 8px; text-transform:uppercase; letter-spacing:.5px; color:#33405a; }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 14px; margin-bottom:14px; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap:14px; }
dl.kv { display:grid; grid-template-columns: 130px 1fr; gap:4px 10px; margin:0; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; word-break:break-word; }
table { border-collapse:collapse; width:100%; background:var(--card); margin-bottom:14px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:middle; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#fafbfc; }
tr.vs-row td { background:#eef2f8; font-weight:600; }
button { font:inherit; padding:4px 12px; border-radius:4px; border:1px solid #9aa6b8; background:#fff; cursor:pointer; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { color:var(--bad); border-color:#e3a6a6; }
button:disabled { opacity:.5; cursor:default; }
.role, .state { display:inline-block; padding:1px 9px; border-radius:10px; font-size:12px; font-weight:700; text-transform:uppercase; background:#8892a6; color:#fff; }
.role-active, .state-up { background:var(--ok); }
.role-standby { background:var(--standby); }
.role-fault, .state-down { background:var(--bad); }
.role-starting, .role-stopping, .state-drained { background:var(--warn); }
.role-big { font-size:20px; padding:4px 16px; border-radius:14px; }
.live { font-size:12px; padding:1px 8px; border-radius:10px; }
.live.on { background:#2e7d32; }
.live.off { background:#8a1c1c; }
.actions { display:flex; gap:8px; margin-top:10px; }
.msg { padding:6px 10px; border-radius:4px; margin:8px 0; }
.msg.error { background:#fdecea; color:#8a1c1c; border:1px solid #f3b8b3; }
.msg.ok { background:#e8f5e9; color:#1b5e20; border:1px solid #b7dfb9; }
.msg.warn { background:#fff4e5; color:#7a4a00; border:1px solid #f5cf94; }
form.cfg { display:grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap:6px 18px; }
form.cfg .field { display:grid; grid-template-columns: 190px 1fr; align-items:center; gap:8px; padding:3px 0; }
form.cfg .field label { color:#33405a; }
form.cfg .field .help { grid-column: 2; color:var(--muted); font-size:12px; }
form.cfg .field .error { grid-column: 1 / span 2; color:var(--bad); font-size:12.5px; font-weight:600; }
form.cfg .field .error:empty { display:none; }
form.cfg .field.invalid input, form.cfg .field.invalid select { border-color:var(--bad); background:#fff5f5; outline:2px solid #f3b8b3; }
form.cfg .submit { grid-column: 1 / -1; display:flex; gap:8px; align-items:center; margin-top:8px; }
form.cfg .form-errors { grid-column: 1 / -1; }
input[type=text], input[type=password], select { font:inherit; padding:4px 6px; border:1px solid #b8c1cf; border-radius:4px; width:100%; min-width:0; }
input[disabled] { background:#eef0f3; color:#667; }
ul.events, ul.transitions { list-style:none; margin:0; padding:0; font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12.5px; }
ul.events li, ul.transitions li { padding:3px 0; border-bottom:1px dashed var(--line); }
.muted { color:var(--muted); }
.inactive { color:var(--muted); text-decoration:line-through; }
code { background:#eef1f6; padding:1px 4px; border-radius:3px; }
body.login { display:flex; align-items:center; justify-content:center; min-height:100vh; background:#14213d; }
.login-box { background:#fff; padding:26px 30px; border-radius:8px; width:360px; }
.login-box h1 { font-size:18px; margin:0 0 16px; }
.login-box label { display:block; margin:8px 0 4px; }
.login-box button { margin-top:12px; width:100%; padding:7px; background:var(--accent); color:#fff; border-color:var(--accent); }
.login-box .hint { color:var(--muted); font-size:12px; margin-top:14px; }
`;
