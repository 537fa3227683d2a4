/** The monolith's legacy wire format (owned by the contract), reused so the legacy routes format and parse exactly as the monolith does. */
export {
  heatingSystemJson,
  javaDouble,
  JacksonCoercionError,
  parseHeatingSettings,
  parseJavaDouble,
  parseJavaLong,
  sendSpringError,
} from '@warmhouse/monolith-contract/src/wire';
