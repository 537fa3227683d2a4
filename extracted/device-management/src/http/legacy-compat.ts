/** The monolith stand-in's pure helpers, reused so the legacy routes format and parse exactly as the monolith does. */
export {
  heatingSystemJson,
  javaDouble,
  JacksonCoercionError,
  parseHeatingSettings,
  parseJavaDouble,
  parseJavaLong,
  sendSpringError,
} from '@warmhouse/monolith-standin';
