// Shard 2 of the project's boot-test cases (test/cases), run through keel test: test/helpers/boot-cases.ts.
import { runCaseShard } from '../helpers/boot-cases.js'

runCaseShard(2)
