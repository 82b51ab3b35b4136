// Parses a junit.xml with xunit-viewer's own parser (the one its HTML viewer and
// terminal view render from) and prints the suites and tests it sees, as JSON.
// Run by tests/junit_consumers.rs: node xunit_viewer.mjs <xunit-viewer dir> <junit.xml>
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const [, , viewerDir, file] = process.argv
const parse = (await import(pathToFileURL(path.join(viewerDir, 'src/cli/parse.js')).href)).default
const parsed = await parse(fs.readFileSync(file).toString())
const suites = Object.values(parsed.suites).map((s) => ({
  name: s.name,
  properties: Object.keys(s.properties).filter((k) => k !== '_visible'),
  tests: Object.values(s.tests).map((t) => ({ name: t.name, status: t.status, messages: t.messages }))
}))
console.log(JSON.stringify(suites))
