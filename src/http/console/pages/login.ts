import { CONSOLE_PATH } from "../layout";

/** The login form: one labelled password field for the API key. */
export function loginBody(failed: boolean): string {
  return `${failed ? '<p class="notice error" role="alert">That key is not valid, or it lacks the console.read scope.</p>' : ""}
<form method="post" action="${CONSOLE_PATH}/login" class="stack" aria-label="Log in">
<div><label for="key">API key</label><input id="key" name="key" type="password" autocomplete="off" required autofocus></div>
<p class="muted">A key with the <code>console.read</code> scope opens the console; <code>operate</code> may retry failed work; <code>dpo</code> may extend deadlines.</p>
<div><button type="submit">Log in</button></div>
</form>`;
}
