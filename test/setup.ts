// Shared mocha set-up: nothing global beyond making unhandled rejections fail loudly.
process.on('unhandledRejection', (err) => {
  throw err;
});
