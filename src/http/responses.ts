export { sendStatus } from '../engine/answers.ts';
