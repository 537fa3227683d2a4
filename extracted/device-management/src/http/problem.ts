export { problemOf } from '../errors';
export { describeFields, sendProblem, PROBLEM_CONTENT_TYPE, type Problem } from '@warmhouse/shared';
