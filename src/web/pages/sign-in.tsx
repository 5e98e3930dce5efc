/** Sign in with an API key; the key is checked against the API before it is kept. */
import { useState } from 'preact/hooks';
import { explain, getJson } from '../api.js';

export function SignIn({ onSignedIn, notice }: { onSignedIn: (key: string) => void; notice: string | null }) {
  const [key, setKey] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return setFailure('Paste your API key first.');
    setBusy(true);
    setFailure(null);
    try {
      await getJson('/datasets', trimmed);
      onSignedIn(trimmed);
    } catch (error) {
      setFailure(explain(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>scgmdvae</h1>
      <p>Clusters, a batch-corrected latent space and a UMAP for your single-cell RNA-seq data.</p>
      <form onSubmit={submit} class="panel">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="scg_…"
          value={key}
          onInput={(event) => setKey((event.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted">The key stays in this browser tab only (it is forgotten when the tab closes). Ask whoever runs the service for one: <code>users add NAME</code>.</p>
        {(failure ?? notice) && (
          <p class="error" role="alert">
            {failure ?? notice}
          </p>
        )}
      </form>
    </main>
  );
}
