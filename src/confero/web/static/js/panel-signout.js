// Sign out from the panel and the start page: DELETE /api/v1/session ends the session
// on the server (the cookie alone going would leave the token valid), then the start page.

export async function signOut() {
  await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
  location.assign('/');
}

for (const button of document.querySelectorAll('[data-sign-out]')) {
  button.addEventListener('click', () => {
    button.disabled = true;
    signOut();
  });
}
