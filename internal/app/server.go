package app

import (
	"context"

	"errors"
	"fmt"
	"github.com/emersion/go-smtp"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mmsprofile/avatar"
	"mmsprofile/commands"
	"mmsprofile/config"
	"mmsprofile/internal/app/shed"
	"mmsprofile/internal/redact"
	"mmsprofile/metrics"
	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/email"
	"mmsprofile/mmsbridge/mm7"
	"mmsprofile/outbox"
	"mmsprofile/profile"
	"mmsprofile/publisher"
	"mmsprofile/storage"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/ejabberdapi"
)

// AvatarStandard turns the [avatar] section into the image standard. Larger
// renditions are asked for only while [http] public_url says where they
// are served.
func AvatarStandard(c config.Config) (avatar.Standard, error) {
	cfg := c.Avatar
	bg, err := config.ParseColor(cfg.Background)
	if err != nil {
		return avatar.Standard{}, fmt.Errorf("server: avatar.background: %w", err)
	}
	std := avatar.Standard{
		Size:          cfg.Size,
		MaxBytes:      cfg.MaxBytes,
		MaxPixels:     cfg.MaxPixels,
		MaxSide:       cfg.MaxSide,
		MaxInputBytes: cfg.MaxInputBytes,
		MinSide:       cfg.MinSide,
		MaxFrames:     cfg.MaxFrames,
		Accept:        cfg.Accept,
		Crop:          avatar.Crop(cfg.Crop),
		Background:    bg,
		MinDetail:     cfg.MinDetail,
		Hook:          cfg.Hook,
		HookTimeout:   cfg.HookTimeout,
		Limiter:       avatar.NewLimiter(cfg.MaxConcurrent),
		Backend:       cfg.Backend,
	}
	if c.HTTP.PublicURL != "" {
		std.Renditions, std.RenditionQuality = cfg.Renditions, cfg.RenditionQuality
	}
	if err := std.Check(); err != nil {
		return avatar.Standard{}, fmt.Errorf("server: [avatar]: %w", err)
	}
	return std, nil
}

// Server is the running service.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	store storage.Store
	comp  *component.Component
	pub   *publisher.Publisher
	svc   *profile.Service
	// rcv is what the transports hand MMS to: the rules behind the
	// in-flight bound and the counters.
	rcv     mmsbridge.Receiver
	metrics *metrics.Metrics
	leading atomic.Bool

	// Ready is closed once every listener is bound.
	Ready chan struct{}

	mu        sync.Mutex
	mm7Addr   net.Addr
	httpAddr  net.Addr
	emailAddr net.Addr
	hookAddr  net.Addr
	// stopPublisher halts the running outbox drain between two passes
	// and reports whether it did before ctx ended; set while leading.
	stopPublisher func(context.Context) bool
}

// New prepares the service; Run starts it. version is the program's, for
// the metrics' build info.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (*Server, error) {
	store, err := OpenStore(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	comp, err := component.New(component.Config{
		Domain:       cfg.XMPP.Component,
		Server:       cfg.XMPP.Server,
		Secret:       cfg.XMPP.Secret,
		ReconnectMin: cfg.XMPP.ReconnectMin,
		ReconnectMax: cfg.XMPP.ReconnectMax,
		IQTimeout:    cfg.XMPP.IQTimeout,
	}, log.With("part", "component"))
	if err != nil {
		store.Close()
		return nil, err
	}
	reps, err := repliers(cfg, store, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	pub := publisher.New(store, comp, reps, publisher.Config{
		RetryMin:    cfg.Publish.RetryMin,
		RetryMax:    cfg.Publish.RetryMax,
		MaxAttempts: cfg.Publish.MaxAttempts,
		Poll:        cfg.Publish.Poll,
		Concurrency: cfg.Publish.Concurrency,

		VCardConversion: cfg.XMPP.VCardConversion,
		StatusAsMood:    cfg.Profile.StatusAsMood,
		// Used only for hosts that grant no XEP-0356 IQ permission
		// (ejabberd < 24.10); an empty URL turns it off.
		EjabberdAPI: ejabberdapi.Client{URL: cfg.Ejabberd.APIURL, User: cfg.Ejabberd.APIUser, Password: cfg.Ejabberd.APIPassword},
		// Renditions are listed by URL in the XEP-0084 metadata (the
		// ejabberd API path writes vcard-temp only, which has no place
		// for them).
		PublicURL: cfg.HTTP.PublicURL,
	}, log.With("part", "publisher"))
	m := metrics.New(metrics.Options{Version: version, Outbox: store.OutboxStats})
	comp.OnState = func(up bool) {
		m.ComponentUp(up)
		// Without a session the publisher leaves new MMS to the poll;
		// once one is up, what waited goes out at once.
		if up {
			pub.Wake()
		}
	}
	comp.OnIQFailure = m.PrivilegedIQFailed
	comp.OnHandshakeFailure = m.ComponentHandshakeFailed
	pub.OnResult = func(r publisher.Result) {
		m.Published(metrics.Publish{Kind: r.Item.Kind, Err: r.Err, Final: r.Final, Elapsed: r.Elapsed,
			Committed: r.Item.Created, Received: r.Item.Received})
	}
	svc, err := newProfile(cfg, store, m, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	commands.New(svc, cfg.XMPP.Component, log.With("part", "commands")).Register(comp)
	rcv := shed.New(cfg.Limits.MaxInFlight, m).Receiver(m.Receiver(svc))
	return &Server{cfg: cfg, log: log, store: store, comp: comp, pub: pub, svc: svc, rcv: rcv, metrics: m, Ready: make(chan struct{})}, nil
}

func newProfile(cfg config.Config, store profile.Store, m *metrics.Metrics, log *slog.Logger) (*profile.Service, error) {
	std, err := AvatarStandard(cfg)
	if err != nil {
		return nil, err
	}
	return profile.New(store, timedImager{std, m}, ProfileRules(cfg), log.With("part", "profile")), nil
}

// timedImager measures the image step for the metrics.
type timedImager struct {
	next profile.Imager
	m    *metrics.Metrics
}

func (t timedImager) Make(ctx context.Context, b []byte) (avatar.Image, error) {
	start := time.Now()
	img, err := t.next.Make(ctx, b)
	t.m.ImageProcessed(avatar.FormatName(b), time.Since(start), err)
	return img, err
}

// ProfileRules turns the configuration into the rules' policies.
func ProfileRules(cfg config.Config) profile.Rules {
	return profile.Rules{
		Domains:             cfg.XMPP.Domains,
		DefaultCountryCode:  cfg.Profile.DefaultCountryCode,
		MaxStatusChars:      cfg.Profile.MaxStatusChars,
		ServiceNumber:       cfg.Profile.ServiceNumber,
		ServiceEmail:        cfg.Profile.ServiceEmail,
		Component:           cfg.XMPP.Component,
		CodeTTL:             cfg.Profile.CodeTTL,
		CodeDigits:          cfg.Profile.CodeDigits,
		MaxCodeFailures:     cfg.Profile.MaxCodeFailures,
		UpdatesPerHour:      cfg.Limits.UpdatesPerHour,
		LinkRequestsPerHour: cfg.Limits.LinkRequestsPerHour,
		RepliesPerDay:       cfg.Limits.RepliesPerDay,
	}
}

// repliers builds the ways back to phones that are configured.
func repliers(cfg config.Config, store storage.InboundLog, log *slog.Logger) (map[string]publisher.Replier, error) {
	out := map[string]publisher.Replier{}
	if cfg.MM7.SubmitURL != "" {
		sub, err := mm7.NewSubmitter(mm7.SubmitConfig{
			URL:           cfg.MM7.SubmitURL,
			Username:      cfg.MM7.SubmitUsername,
			Password:      cfg.MM7.SubmitPassword,
			VASPID:        cfg.MM7.VASPID,
			VASID:         cfg.MM7.VASID,
			SenderAddress: cfg.MM7.SenderAddress,
			// The outbox retries with its own backoff; one quick retry
			// here covers a passing hiccup.
			Retries: 1,
		}, log.With("part", "mm7-submit"))
		if err != nil {
			return nil, fmt.Errorf("server: mm7 replies: %w", err)
		}
		out[string(mmsbridge.TransportMM7)] = publisher.ReplierFunc(func(ctx context.Context, r outbox.Reply) error {
			res, err := sub.Submit(ctx, mm7.Submission{To: r.To, Subject: r.Subject, Text: r.Text, LinkedID: r.LinkedID})
			var se *mm7.SubmitError
			if errors.As(err, &se) && !se.Temporary || errors.Is(err, mm7.ErrBadSubmission) {
				return &publisher.Permanent{Err: err}
			}
			if err == nil {
				log.Info("reply sent to phone", "to", redact.MaskNumber(r.To), "message_id", res.MessageID)
				if rerr := recordReply(ctx, store, r.To, res.MessageID); rerr != nil {
					log.Warn("record reply", "err", rerr)
				}
			}
			return err
		})
	}
	if cfg.Email.Smarthost != "" {
		out[string(mmsbridge.TransportEmail)] = emailReplier(cfg.Email)
	}
	webhookRepliers(cfg, out, log.With("part", "webhook-reply"))
	return out, nil
}

// Profile exposes the rules, for tests.
func (s *Server) Profile() *profile.Service { return s.svc }

// EmailAddr is the bound mail listener once Ready is closed.
func (s *Server) EmailAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emailAddr
}

// HTTPAddr is the bound metrics/health listener once Ready is closed.
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpAddr
}

// Component exposes the XMPP side, for the doctor and tests.
func (s *Server) Component() *component.Component { return s.comp }

// Publisher exposes the outbox drain, for tests that watch results.
func (s *Server) Publisher() *publisher.Publisher { return s.pub }

// WebhookAddr is the bound aggregator listener once Ready is closed.
func (s *Server) WebhookAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookAddr
}

// MM7Addr is the bound MM7 address once Ready is closed.
func (s *Server) MM7Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mm7Addr
}

// Run serves until ctx ends, then shuts down in order: stop taking MMS,
// let in-flight requests finish, then stop publishing and close storage.
func (s *Server) Run(ctx context.Context) error {
	defer s.store.Close()

	var servers []*http.Server
	if s.cfg.MM7.Listen != "" {
		h, err := s.mm7Handler(mm7Receiver{Receiver: s.rcv, store: s.store, log: s.log.With("part", "mm7")})
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle(s.cfg.MM7.Path, h)
		srv, addr, err := s.listen(ctx, s.cfg.MM7.Listen, mux)
		if err != nil {
			return fmt.Errorf("server: mm7 listener: %w", err)
		}
		s.mu.Lock()
		s.mm7Addr = addr
		s.mu.Unlock()
		servers = append(servers, srv)
		s.log.Info("mm7 listening", "addr", addr.String(), "path", s.cfg.MM7.Path)
	}
	if s.cfg.HTTP.Listen != "" {
		srv, addr, err := s.listen(ctx, s.cfg.HTTP.Listen, s.opsHandler())
		if err != nil {
			return fmt.Errorf("server: http listener: %w", err)
		}
		s.mu.Lock()
		s.httpAddr = addr
		s.mu.Unlock()
		servers = append(servers, srv)
		if s.cfg.HTTP.PublicURL != "" {
			s.log.Info("serving avatar renditions", "addr", addr.String(), "path", publisher.RenditionPath, "public_url", s.cfg.HTTP.PublicURL)
		}
	}
	if s.cfg.Webhook.Enabled {
		h, err := webhookMux(s.cfg, s.rcv, s.metrics, s.log.With("part", "webhook"))
		if err != nil {
			return err
		}
		srv, addr, err := s.listen(ctx, s.cfg.Webhook.Listen, h)
		if err != nil {
			return fmt.Errorf("server: webhook listener: %w", err)
		}
		s.mu.Lock()
		s.hookAddr = addr
		s.mu.Unlock()
		servers = append(servers, srv)
		s.log.Info("webhook listening", "addr", addr.String())
	}
	var mail *smtp.Server
	if s.cfg.Email.Listen != "" {
		ec, err := EmailConfig(s.cfg)
		if err != nil {
			return err
		}
		ln, err := listenEmail(ctx, s.cfg.Email.Listen)
		if err != nil {
			return fmt.Errorf("server: email listener: %w", err)
		}
		if len(ec.Recipients) == 0 {
			s.log.Warn("email.recipients is empty: mail for any recipient is taken; keep the listener reachable from your own MTA only")
		}
		mail = email.NewServer(ec, s.rcv, s.cfg.Email.Protocol == "lmtp", s.log.With("part", "email"))
		go func() {
			if err := mail.Serve(email.GuardListener(ln)); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				s.log.Error("email serve", "err", err)
			}
		}()
		s.mu.Lock()
		s.emailAddr = ln.Addr()
		s.mu.Unlock()
		s.log.Info("email listening", "addr", ln.Addr().String(), "protocol", s.cfg.Email.Protocol)
	}
	close(s.Ready)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	leading := make(chan struct{})
	go func() { defer close(leading); s.lead(bg) }()

	<-ctx.Done()
	s.log.Info("shutting down: no new MMS taken")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace())
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("listener shutdown", "err", err)
		}
	}
	if mail != nil {
		if err := mail.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("email listener shutdown", "err", err)
		}
	}
	s.flushOutbox(shutdownCtx)
	stopBG()
	<-leading
	return nil
}

// flushOutbox publishes, on the leader, what was accepted before the stop,
// as far as the grace period allows. The running publisher is stopped first
// so that no item is published by both, or cut off after the server applied
// it but before it was marked done; the component stays up meanwhile.
func (s *Server) flushOutbox(ctx context.Context) {
	s.mu.Lock()
	stop := s.stopPublisher
	s.mu.Unlock()
	if stop == nil {
		return // not leading: the leader publishes what we accepted
	}
	if !stop(ctx) {
		s.log.Warn("stopping while a publish is still under way; the next leader finishes the outbox")
		return
	}
	// A component in reconnect backoff may come back within the grace.
	for !s.comp.Connected() {
		select {
		case <-ctx.Done():
			s.log.Warn("stopping with the outbox not flushed: the component is not connected; the next leader publishes it")
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	for more := true; more && ctx.Err() == nil; {
		var err error
		if more, err = s.pub.Drain(ctx); err != nil {
			s.log.Warn("final outbox pass", "err", err)
			return
		}
	}
}

// lead runs the publishing side (component connection, outbox drain,
// pruning) while this process is the leader. With PostgreSQL only one of
// several processes leads; the others take MMS and wait to take over.
func (s *Server) lead(ctx context.Context) {
	coord, ok := s.store.(storage.Coordinator)
	if !ok {
		s.runLeader(ctx, nil)
		return
	}
	for ctx.Err() == nil {
		lost, release, err := coord.Lead(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("cannot take the lead; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		s.log.Info("leading: holding the component connection and draining the outbox")
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
				s.log.Warn("lost the lead; stopping publishing")
			case <-lctx.Done():
			}
			cancel()
		}()
		s.runLeader(lctx, coord.Wake(lctx))
		cancel()
		release()
	}
}

func (s *Server) runLeader(ctx context.Context, wake <-chan struct{}) {
	s.leading.Store(true)
	s.metrics.Leading(true)
	defer func() {
		s.leading.Store(false)
		s.metrics.Leading(false)
	}()
	// A stopping server halts the publisher between two passes and then
	// flushes the outbox itself while the component stays up.
	pubStop, pubDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.mu.Lock()
	s.stopPublisher = func(ctx context.Context) bool {
		once.Do(func() { close(pubStop) })
		select {
		case <-pubDone:
			return true
		case <-ctx.Done():
			return false
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stopPublisher = nil
		s.mu.Unlock()
	}()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.comp.Run(ctx) }()
	go func() { defer wg.Done(); defer close(pubDone); s.pub.RunUntil(ctx, pubStop) }()
	go func() { defer wg.Done(); s.prune(ctx) }()
	if wake != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range wake {
				s.pub.Wake()
			}
		}()
	}
	wg.Wait()
}

func (s *Server) prune(ctx context.Context) {
	t := time.NewTicker(s.cfg.Storage.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.store.Prune(ctx, time.Now().Add(-s.cfg.Storage.Retention))
		if err != nil {
			s.log.Warn("prune", "err", err)
			continue
		}
		if n > 0 {
			s.log.Info("pruned old rows", "rows", n)
		}
	}
}

func (s *Server) listen(ctx context.Context, addr string, h http.Handler) (*http.Server, net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv, ln := hardenHTTP(h, ln, httpLimitsOf(s.cfg.Limits), slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http serve", "addr", addr, "err", err)
		}
	}()
	return srv, ln.Addr(), nil
}

func (s *Server) mm7Handler(rcv mmsbridge.Receiver) (http.Handler, error) {
	var nets []netip.Prefix
	for _, a := range s.cfg.MM7.AllowedIPs {
		p, err := config.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("server: mm7.allowed_ips: %w", err)
		}
		nets = append(nets, p)
	}
	return mm7.NewHandler(mm7.Config{
		Username:           s.cfg.MM7.Username,
		Password:           s.cfg.MM7.Password,
		MaxBodyBytes:       s.cfg.MM7.MaxBodyBytes,
		DefaultCountryCode: s.cfg.Profile.DefaultCountryCode,
		AllowedNets:        nets,
		Refused:            s.metrics.MM7Refused,
	}, rcv, s.log.With("part", "mm7")), nil
}

func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.HTTP.PublicURL != "" {
		// The one path meant to be reachable from outside, through a
		// reverse proxy; see docs/operations.md.
		mux.Handle(renditionPattern, renditionHandler{read: s.store.Rendition, metrics: s.metrics, log: s.log.With("part", "renditions")})
	}
	mux.Handle("/metrics", s.metrics.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			http.Error(w, "storage: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		// Only the leader holds the component connection; the other nodes
		// are ready as soon as they can take MMS.
		if s.leading.Load() && !s.comp.Connected() {
			http.Error(w, "leading, but the component is not connected", http.StatusServiceUnavailable)
			return
		}
		if s.leading.Load() {
			fmt.Fprintln(w, "ready (leading)")
			return
		}
		fmt.Fprintln(w, "ready (standby: another node publishes)")
	})
	return mux
}
