/**
 * canonicalUsername is the form a username is counted under by the login limiter, and the form two users-file
 * entries must not share: default-ignorable code points (zero-width spaces, soft hyphens, joiners, variation
 * selectors) removed, NFKC, full case folding, surrounding white space trimmed. So `" alice"`, `"ALICE"`,
 * `"al\u200Bice"` and `"ａｌｉｃｅ"` share one failure budget, whatever the backend behind them makes of them.
 *
 * Case folding is upper-then-lower case (which folds `ß` to `ss` as Unicode's full folding does), plus final sigma to
 * sigma, the one fold lower-casing leaves apart; the result is normalized again because folding can denormalize.
 */
export function canonicalUsername(username: string): string {
  return username
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .replace(/\u03C2/g, '\u03C3')
    .normalize('NFKC')
    .trim();
}
