// The REST API as the panel calls it: JSON in, JSON out, the session cookie, and every
// refusal as an ApiError carrying the problem+json body (its stable `code`, `field`,
// and context such as `maximum` or `value`). A lost session goes back to sign-in.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || `http.${status}`;
    this.problem = problem;
  }
}

function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/signin?next=${encodeURIComponent(here)}`);
}

/** `await api('POST', '/api/v1/rooms', {name})` -> the answer's JSON (null for 204). */
export async function api(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json, application/problem+json' },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { code: 'network', detail: String(error) });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (response.ok) return data;
  const problem = data && typeof data === 'object' ? data : {};
  if (response.status === 401 && problem.code === 'auth.required') signInAgain();
  throw new ApiError(response.status, {
    code: `http.${response.status}`,
    detail: response.statusText,
    ...problem,
  });
}
