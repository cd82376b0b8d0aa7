/**
 * Identity numbers are personal information: stored as given, shown masked except to roles that
 * need them. An 18-character resident identity number keeps its first 4 and last 4 characters
 * (`1301**********1234`); a shorter one keeps less.
 */
export function maskIdNumber(idNumber: string): string {
  const keep = idNumber.length >= 12 ? 4 : idNumber.length >= 8 ? 2 : 0;
  const tail = idNumber.length >= 8 ? keep : 1;
  if (idNumber.length <= tail) return '*'.repeat(idNumber.length);
  return idNumber.slice(0, keep) + '*'.repeat(idNumber.length - keep - tail) + idNumber.slice(idNumber.length - tail);
}
