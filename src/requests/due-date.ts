/**
 * Art. 12(3): a request is due one calendar month after receipt; an extension adds one or two
 * further months, still counted in calendar months from the day of receipt (the same date of the
 * month, clamped to the month's last day: 31 January + 1 month = 28 or 29 February).
 */
export function dueDateFor(receivedAt: Date, months = 1): Date {
  const due = new Date(receivedAt.getTime());
  const day = due.getUTCDate();
  due.setUTCDate(1);
  due.setUTCMonth(due.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(due.getUTCFullYear(), due.getUTCMonth() + 1, 0)).getUTCDate();
  due.setUTCDate(Math.min(day, lastDay));
  return due;
}
