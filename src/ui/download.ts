/** Saves `text` as a file named `name` through the browser's download (exports: results, receipts). */
export function downloadText (name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  // The click starts the download synchronously; free the blob a moment later.
  setTimeout(() => { URL.revokeObjectURL(url) }, 1000)
}
