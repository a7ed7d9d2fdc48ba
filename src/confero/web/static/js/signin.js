// The sign-in page: POST /api/v1/session with {email, password} (sets the HttpOnly
// session cookie), then go to ?next= (checked by the server: a path on this site), or to
// the host panel's rooms when no next was given.

const config = JSON.parse(document.getElementById('confero-config').textContent);
const form = document.getElementById('signin-form');
const error = document.getElementById('error');
const button = document.getElementById('signin');

/** Where to go once signed in: the `next` the server checked, else the host's rooms
 * (F-RS8), in the language the visitor chose here. */
function afterSignIn() {
  const params = new URLSearchParams(location.search);
  if (params.has('next')) return config.next || '/';
  return params.has('lang') ? `/rooms?lang=${encodeURIComponent(config.lang)}` : '/rooms';
}

function say(text) {
  error.textContent = text;
  error.hidden = !text;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  say('');
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    say(config.texts.signin_failed);
    (email ? form.password : form.email).focus();
    return;
  }
  button.disabled = true;
  try {
    const response = await fetch('/api/v1/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ email, password }),
    });
    if (response.ok) {
      location.assign(afterSignIn());
      return;
    }
    say(
      response.status === 429
        ? config.texts.signin_rate_limited
        : response.status === 401 || response.status === 422
          ? config.texts.signin_failed
          : config.texts.signin_error,
    );
    form.password.select();
  } catch {
    say(config.texts.signin_error);
  } finally {
    button.disabled = false;
  }
});

const signOut = document.getElementById('sign-out');
if (signOut) {
  signOut.addEventListener('click', async () => {
    await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
    location.reload();
  });
}
