/* templates/*.json, compiled into the bundle by build.mjs (as libparley compiles them
 * in): each file's name (the kind) and its text, parsed strictly at first use. */
declare module 'parley-templates' {
  const files: { name: string; json: string }[];
  export default files;
}
