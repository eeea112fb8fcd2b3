/**
 * `gradlab lab …`: the lab is a package of its own in the repository (`lab/`, named
 * `gradlab-lab`) that uses only gradlab's public API; this subcommand hands it the command line.
 * An installed gradlab has no lab: then it says where the lab is.
 */

/** The name the lab package is installed under (a workspace of the repository). */
const LAB_PACKAGE = 'gradlab-lab';

interface LabPackage {
  run(argv: string[]): Promise<number>;
}

export async function run(argv: string[]): Promise<number> {
  let lab: LabPackage;
  try {
    // A name in a variable: the library neither depends on the lab nor bundles it.
    lab = (await import(LAB_PACKAGE)) as LabPackage;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${LAB_PACKAGE}'`);
    if (!missing) throw error;
    process.stderr.write(`gradlab: the lab is not installed: it lives in gradlab's repository (lab/); run it there with npm install && npm start\n`);
    return 1;
  }
  return lab.run(['lab', ...argv]);
}
