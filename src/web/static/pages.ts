/**
 * The console's two HTML pages, as strings (so `tsc` output needs no copied assets). Every dynamic value
 * goes through `esc`; scripts and styles are same-origin files only (the CSP forbids inline ones).
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The login page. `message` is shown above the form (wrong password, expired session, …). */
export function loginPage(csrf: string, message?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lvs-pulse — log in</title>
<link rel="stylesheet" href="/style.css">
</head>
<body class="login">
<main class="login-box">
<h1><span class="logo">lvs-pulse</span> web console</h1>
${message ? `<p class="msg error" id="login-message" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="_csrf" value="${esc(csrf)}">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus maxlength="1024">
<button type="submit" id="login-submit">Log in</button>
</form>
<p class="hint">No default password: it is set on the router with <code>pulse-web --set-password</code>.</p>
</main>
</body>
</html>
`;
}

/** The console itself; app.js renders the panels. */
export function appPage(csrf: string, user: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${esc(csrf)}">
<title>lvs-pulse — web console</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
<div class="brand"><span class="logo">lvs-pulse</span> web console</div>
<div class="who"><span id="live" class="live off" title="live updates">offline</span>
<span id="header-role" class="role">…</span>
<span class="user">${esc(user)}</span>
<form method="post" action="/logout" id="logout-form"><input type="hidden" name="_csrf" value="${esc(csrf)}"><button type="submit">Log out</button></form></div>
</header>
<nav id="tabs">
<a href="#control" data-view="control">CONTROL/MONITORING</a>
<a href="#global" data-view="global">GLOBAL SETTINGS</a>
<a href="#redundancy" data-view="redundancy">REDUNDANCY</a>
<a href="#virtual" data-view="virtual">VIRTUAL SERVERS</a>
</nav>
<main>
<section id="view-control" class="view"></section>
<section id="view-global" class="view" hidden></section>
<section id="view-redundancy" class="view" hidden></section>
<section id="view-virtual" class="view" hidden></section>
</main>
<footer id="footer"></footer>
</body>
</html>
`;
}
