import { ApiError } from '../api/client.ts';

/** An error from the API, with its stable code, where the page would have shown data. */
export function Problem({
  error,
  title = 'Could not load this page',
}: {
  readonly error: Error;
  readonly title?: string;
}) {
  return (
    <div className="problem" role="alert">
      <strong>{title}</strong>
      <p>
        {error instanceof ApiError && <code>{error.code}</code>}{' '}
        {error instanceof ApiError ? error.message.replace(/^[^:]+: /, '') : error.message}
      </p>
    </div>
  );
}
