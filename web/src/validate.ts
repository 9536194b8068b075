// Checks the registration form makes as the user types. The server checks again and decides;
// these only save a round trip for a typo.

const RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RIC_CHECK = "10X98765432";

/** Whether an 18-character resident identity card number has the right check character
 * (GB 11643-1999). */
export function ricChecks(number: string): boolean {
  const text = number.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(text)) return false;
  const sum = RIC_WEIGHTS.reduce((total, weight, i) => total + weight * Number(text[i]), 0);
  return RIC_CHECK[sum % 11] === text[17];
}

/** A mainland mobile number: 11 digits from 1, with or without +86. */
export function mobileLooksValid(phone: string): boolean {
  return /^(\+86)?1\d{10}$/.test(phone.replace(/[\s-]/g, ""));
}

/** The form's phone as the API takes it (E.164). */
export function e164(phone: string): string {
  const digits = phone.replace(/[\s-]/g, "");
  return digits.startsWith("+") ? digits : `+86${digits}`;
}

export const HANDLE_PATTERN = /^[a-z][a-z0-9_.-]{2,31}$/;
export const PASSWORD_MIN_CHARS = 8;
