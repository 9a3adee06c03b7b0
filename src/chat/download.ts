/**
 * Downloads a file a person attached in chat (for publishing its images), with limits: only from
 * the platform's own hosts (so a token never goes elsewhere), at most MAX_BYTES, within a timeout.
 */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

export interface Downloaded {
  bytes: Buffer;
  mimeType: string;
}

export async function download(url: string, options: { allowedHosts: readonly string[]; headers?: Record<string, string>; timeoutMs?: number }): Promise<Downloaded> {
  const target = new URL(url);
  const allowed = options.allowedHosts.some((host) => target.host === host || target.hostname === host || target.hostname.endsWith(`.${host}`));
  if (!allowed) throw new Error(`refusing to download from ${target.host}: not a host of this chat platform`);
  const response = await fetch(target, { headers: options.headers ?? {}, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000), redirect: 'follow' });
  if (!response.ok) throw new Error(`download of ${target.pathname} failed: HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_DOWNLOAD_BYTES) throw new Error(`file too large (${declared} bytes)`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_DOWNLOAD_BYTES) throw new Error(`file too large (${bytes.length} bytes)`);
  return { bytes, mimeType: (response.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim() };
}
