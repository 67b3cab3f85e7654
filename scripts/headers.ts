/**
 * The HTTP headers every Essaim page is served with, in dev, preview and
 * `npm start`. COOP + COEP make the page cross-origin isolated, which is what
 * enables SharedArrayBuffer and so WASM threads in onnxruntime-web. The CSP is
 * strict: only our own origin, plus `ws:`/`wss:` for relays; `wasm-unsafe-eval`
 * is what WebAssembly compilation needs and nothing more. Styles come only
 * from our stylesheets: the components' `style:` directives set properties
 * through the CSSOM, which CSP does not govern, and no markup carries a
 * `style` attribute or a `<style>` element (an e2e test watches for
 * violations on every page it draws).
 */
export function contentSecurityPolicy (): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self' ws: wss: data: blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'"
  ].join('; ')
}

export function isolationHeaders (options: { csp?: boolean } = {}): Record<string, string> {
  const headers: Record<string, string> = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer'
  }
  if (options.csp === true) headers['Content-Security-Policy'] = contentSecurityPolicy()
  return headers
}
