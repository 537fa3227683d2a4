/**
 * The monolith's legacy wire format, owned by its contract: Jackson's numbers and coercion rules, Spring's error
 * bodies, the heating DTO. The stand-in and the extracted services' legacy routes import it from here
 * (`@warmhouse/monolith-contract/src/wire`: without the contract runner and its OpenAPI machinery).
 */
export {
  coerceBoolean,
  coerceDouble,
  coerceLong,
  javaDouble,
  parseJavaDouble,
  parseJavaLong,
  JacksonCoercionError,
} from './java-json';
export { sendSpringError, springTimestamp } from './spring-errors';
export { matrixParametersRemoved, withoutMatrixParameters } from './matrix-parameters';
export {
  heatingSystemJson,
  parseHeatingSettings,
  type HeatingSettings,
  type HeatingSystemRecord,
} from './heating-json';
export {
  heatingRoutes,
  springErrorHandler,
  type HeatingChange,
  type HeatingRoutesOptions,
  type HeatingStore,
  type HeatingView,
} from './heating-routes';
