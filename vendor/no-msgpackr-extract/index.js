// msgpackr loads its optional native extractor inside try/catch and uses pure JS when it is missing.
throw new Error('msgpackr-extract is not installed (pure-JS msgpackr is used)');
